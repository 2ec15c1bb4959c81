/**
 * The kit's own record sealer (src/conformance/kit-records.ts): keys derived from the handshake with the public key
 * schedule, records of a chosen type sealed with the public record layer, opened by the peer's real session.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameType } from '../../src/codec/frame.js';
import { encodeAck } from '../../src/codec/ack.js';
import { encodeAlert } from '../../src/codec/tokens.js';
import { SUITES } from '../../src/crypto/suites.js';
import { loadIdentity } from '../../src/pki/index.js';
import { HandshakeReplayCache } from '../../src/session/freshness.js';
import { complete, initiate, respond, responseFrame, type HandshakeContext } from '../../src/session/handshake.js';
import { createKitPki } from '../../src/conformance/kit-pki.js';
import { initiatorSendKeys, keepEphemerals, sealWithKeys, wipeKept } from '../../src/conformance/kit-records.js';

const kit = createKitPki('iut-x');

function ctx(id: string, suite: number, protection: 'integrity' | 'confidentiality'): HandshakeContext {
  const identity = id === 'iut-x' ? loadIdentity(kit.iutIdentity, id, { provider: kit.provider }) : kit.identity(id);
  return {
    provider: kit.provider,
    identity,
    verifier: kit.trust,
    suites: SUITES.filter((s) => s.id === suite),
    protection,
    acceptProtection: ['integrity', 'confidentiality'],
    replayCache: new HandshakeReplayCache(30_000),
  };
}

for (const [suite, protection] of [
  [0x0101, 'confidentiality'],
  [0x0103, 'integrity'],
  [0x0102, 'confidentiality'],
  // hybrid X25519MLKEM768 (SPEC 4.2): complete() wipes the ephemeral, so the kit derives from a copy kept before it
  [0x0503, 'confidentiality'],
  [0x0502, 'integrity'],
] as const) {
  test(`kit-sealed ACK and ALERT records open at the peer (suite 0x${suite.toString(16)}, ${protection}); their sequence numbers are used up`, async () => {
    const a = ctx('conf-a', suite, protection);
    const b = ctx('iut-x', suite, protection);
    const now = Date.now();
    const { pending, frame } = initiate(a, 'iut-x', now);
    const r = await respond(b, frame, 'conf-a', now);
    const resp = responseFrame(r.token);
    const kept = keepEphemerals(pending);
    const c = await complete(a, pending, resp, 'iut-x', now);
    assert.equal(c.session.suite.id, suite);
    const keys = initiatorSendKeys(c.session, kept, resp);
    wipeKept(kept);
    assert.ok(
      [...kept.ephemerals.values()].every((kp) => kp.privateKey.every((x) => x === 0)),
      'the copies are wiped',
    );
    const ranges = [{ epoch: 0, highest: 0, accepted: new Uint8Array(8).fill(0) }];
    ranges[0]!.accepted[7] = 1;
    const ack = sealWithKeys(c.session, keys, FrameType.ACK, encodeAck(ranges));
    const alert = sealWithKeys(c.session, keys, FrameType.ALERT, encodeAlert({ code: 'ERR_SOMETHING_ELSE' }));
    const d = c.session.seal(new TextEncoder().encode('after'));
    const got = [...r.session.open(ack, now), ...r.session.open(alert, now), ...r.session.open(d, now)];
    assert.deepEqual(
      got.map((x) => x.type),
      ['ack', 'alert', 'data'],
    );
    const data = got[2];
    assert.ok(data?.type === 'data' && data.seq === 2, 'the DATA record after two kit-sealed ones has sequence number 2');
    // a kit-sealed record with a flipped bit is refused like any other
    const bad = sealWithKeys(c.session, keys, FrameType.ALERT, encodeAlert({ code: 'ERR_SOMETHING_ELSE' }));
    bad[bad.length - 1]! ^= 1;
    assert.throws(() => r.session.open(bad, now), /authentication/);
  });
}

test('kit-sealed records refuse a later send epoch', async () => {
  const a = ctx('conf-b', 0x0101, 'confidentiality');
  const b = ctx('iut-x', 0x0101, 'confidentiality');
  const now = Date.now();
  const { pending, frame } = initiate(a, 'iut-x', now);
  const r = await respond(b, frame, 'conf-b', now);
  const resp = responseFrame(r.token);
  const c = await complete(a, pending, resp, 'iut-x', now);
  const keys = initiatorSendKeys(c.session, pending, resp);
  c.session.keyUpdate(now, false);
  assert.throws(() => sealWithKeys(c.session, keys, FrameType.ALERT, encodeAlert({ code: 'ERR_X' })), /epoch 0/);
});

test('a hybrid session: without the copy taken before complete(), the ephemeral is gone (complete() wiped it)', async () => {
  const a = ctx('conf-c', 0x0503, 'confidentiality');
  const b = ctx('iut-x', 0x0503, 'confidentiality');
  const now = Date.now();
  const { pending, frame } = initiate(a, 'iut-x', now);
  const r = await respond(b, frame, 'conf-c', now);
  const resp = responseFrame(r.token);
  const c = await complete(a, pending, resp, 'iut-x', now);
  // the wiped decapsulation key fails FIPS 203's hash check (before this kit fix, that error ended the handshake
  // as an "hs-refused" and the hybrid cases 1.1.15-1.1.18 were reported informational)
  assert.throws(() => initiatorSendKeys(c.session, pending, resp), { code: 'ERR_INPUT', message: /decapsulation key/ });
});
