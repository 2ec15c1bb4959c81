import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HopsafeError } from '../../src/errors/index.js';
import { utf8 } from '../../src/bytes/index.js';
import { suiteByName } from '../../src/crypto/suites.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import type { Protection } from '../../src/codec/tokens.js';
import { encodeGroupHeader, type SourceAuth } from '../../src/codec/group.js';
import { computeGroupId, groupTrafficKeys, sealGroupFrame } from '../../src/session/group-keys.js';
import { GroupSender } from '../../src/session/group-sender.js';
import { GroupReceiver } from '../../src/session/group-receiver.js';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { ed25519Pkcs8, node, noble, pairs } from '../support/crypto-fixtures.js';

const code = (c: string) => (e: unknown) => e instanceof HopsafeError && e.code === c;
const SEED = new Uint8Array(32).fill(7);
const MALLORY_SEED = new Uint8Array(32).fill(9);

/** An Ed25519 key pair from a seed, as provider handles (the SPKI made by node:crypto). */
function edKeys(p: CryptoProvider, seed: Uint8Array) {
  const pkcs8 = ed25519Pkcs8(seed);
  const spki = createPublicKey(createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' })).export({
    format: 'der',
    type: 'spki',
  });
  return { priv: p.importPrivateKey(pkcs8), pub: p.importPublicKey(new Uint8Array(spki)) };
}

function pair(
  sp: CryptoProvider,
  rp: CryptoProvider,
  protection: Protection,
  sourceAuth: SourceAuth,
  opts: { graceMs?: number; suite?: string } = {},
) {
  const suite = suiteByName(opts.suite ?? 'X25519_AES128GCM_SHA256');
  const gid = computeGroupId(sp, 'der-1', 'telemetry');
  const k = edKeys(sp, SEED);
  const sender = new GroupSender({
    ctx: { provider: sp, suite, protection },
    groupId: gid,
    sourceAuth,
    ...(sourceAuth === 'signature' ? { signingKey: k.priv, certificate: Uint8Array.of(1, 2, 3) } : {}),
    now: 0,
  });
  const signer = sourceAuth === 'signature' ? edKeys(rp, SEED).pub : undefined;
  const receiver = new GroupReceiver({
    provider: rp,
    key: sender.currentKey(),
    ...(signer ? { signerKey: signer } : {}),
    graceMs: opts.graceMs ?? 1000,
  });
  return { sender, receiver, gid, suite, signer };
}

const MODES: [Protection, SourceAuth][] = [
  ['confidentiality', 'signature'],
  ['confidentiality', 'none'],
  ['integrity', 'signature'],
  ['integrity', 'none'],
];

test('[SPEC 13.3, 13.5, 13.6] sealed by one provider, opened by the other, in every mode and suite hash', () => {
  for (const [sp, rp] of pairs)
    for (const [protection, sourceAuth] of MODES)
      for (const suite of ['X25519_AES128GCM_SHA256', 'X25519_AES256GCM_SHA384', 'X25519_CHACHA20POLY1305_SHA256']) {
        const { sender, receiver } = pair(sp, rp, protection, sourceAuth, { suite });
        for (let i = 0; i < 3; i++) {
          const f = sender.seal(utf8(`m${i}`));
          const r = receiver.open(f, 1);
          assert.equal(new TextDecoder().decode(r.payload), `m${i}`);
          assert.equal(r.seq, i);
        }
      }
});

test('[SPEC 13.6, 7.4] property: duplicated and reordered frames are each delivered exactly once', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 120 }),
      fc.constantFrom(...MODES),
      (order, [protection, sourceAuth]) => {
        const { sender, receiver } = pair(node, node, protection, sourceAuth);
        const frames = Array.from({ length: 41 }, (_, i) => sender.seal(utf8(String(i))));
        const got = new Set<number>();
        for (const i of order) {
          try {
            const r = receiver.open(frames[i]!, 1);
            assert.ok(!got.has(r.seq), 'delivered twice');
            got.add(r.seq);
          } catch (e) {
            assert.ok(code('ERR_REPLAY')(e), String(e));
            assert.ok(got.has(i));
          }
        }
        assert.deepEqual(
          [...got].sort((a, b) => a - b),
          [...new Set(order)].sort((a, b) => a - b),
        );
      },
    ),
    { numRuns: 60 },
  );
});

test('[SPEC 13.6] property: any altered byte is refused with a typed error and nothing is delivered', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...MODES),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      fc.uint8Array({ maxLength: 64 }),
      ([protection, sourceAuth], at, x, payload) => {
        const { sender, receiver } = pair(node, node, protection, sourceAuth);
        const f = sender.seal(payload);
        const bad = f.slice();
        const i = at % bad.length;
        bad[i] = (bad[i] as number) ^ x;
        assert.throws(
          () => receiver.open(bad, 1),
          (e: unknown) =>
            e instanceof HopsafeError &&
            ['ERR_VERSION', 'ERR_MALFORMED', 'ERR_WRONG_PEER', 'ERR_UNKNOWN_EPOCH', 'ERR_BAD_MAC', 'ERR_BAD_SIGNATURE'].includes(e.code),
        );
        // the genuine frame still opens: a refused frame moved nothing
        assert.deepEqual([...receiver.open(f, 1).payload], [...payload]);
      },
    ),
    { numRuns: 400 },
  );
});

test('[SPEC 13.6] a member forging as the publisher: refused with signatures (ERR_BAD_SIGNATURE), accepted without (documented)', () => {
  for (const sourceAuth of ['signature', 'none'] as const) {
    const { sender, receiver, gid, suite } = pair(node, node, 'confidentiality', sourceAuth);
    const key = sender.currentKey(); // what every member holds
    const keys = groupTrafficKeys({ provider: node, suite, protection: 'confidentiality' }, key.epochSecret, gid, key.epoch);
    const mallory = edKeys(node, MALLORY_SEED);
    const forged = sealGroupFrame(
      { provider: node, suite, protection: 'confidentiality' },
      keys,
      gid,
      key.epoch,
      5,
      utf8('open breaker'),
      sourceAuth === 'signature' ? mallory.priv : undefined,
    );
    if (sourceAuth === 'signature') {
      assert.throws(() => receiver.open(forged, 1), code('ERR_BAD_SIGNATURE'));
      // stripped of any signature: the trailer does not parse, or the tag fails
      const unsigned = sealGroupFrame(
        { provider: node, suite, protection: 'confidentiality' },
        keys,
        gid,
        key.epoch,
        6,
        utf8('open breaker'),
      );
      assert.throws(
        () => receiver.open(unsigned, 1),
        (e: unknown) => e instanceof HopsafeError && ['ERR_MALFORMED', 'ERR_BAD_MAC'].includes(e.code),
      );
    } else assert.equal(new TextDecoder().decode(receiver.open(forged, 1).payload), 'open breaker');
  }
});

test("[SPEC 13.2, 13.6] cross-group splice: another group's frame is ERR_WRONG_PEER; its body under this group's header ERR_BAD_MAC", () => {
  const { receiver, suite, gid } = pair(node, node, 'confidentiality', 'none');
  const other = new GroupSender({
    ctx: { provider: node, suite, protection: 'confidentiality' },
    groupId: computeGroupId(node, 'der-1', 'other'),
    sourceAuth: 'none',
    now: 0,
  });
  const f = other.seal(utf8('x'));
  assert.throws(() => receiver.open(f, 1), code('ERR_WRONG_PEER'));
  const spliced = f.slice();
  spliced.set(gid, 1);
  assert.throws(() => receiver.open(spliced, 1), code('ERR_BAD_MAC'));
});

test('[SPEC 13.7, 13.6] rotation: the previous epoch only below previousEnd and during grace; a removed member cannot open the next epoch', () => {
  const { sender, receiver, suite, gid } = pair(node, node, 'confidentiality', 'none', { graceMs: 100 });
  const removed = new GroupReceiver({ provider: node, key: sender.currentKey(), graceMs: 100 });
  const old = [sender.seal(utf8('a')), sender.seal(utf8('b'))];
  const k0 = sender.currentKey();
  const k1 = sender.rotate(10);
  assert.equal(k1.epoch, 1);
  assert.equal(k1.previousEnd, 2);
  assert.notDeepEqual([...k1.epochSecret], [...k0.epochSecret]);
  assert.ok(receiver.install(k1, undefined, 10));
  const next = sender.seal(utf8('after removal'));
  assert.throws(() => removed.open(next, 10), code('ERR_UNKNOWN_EPOCH'));
  assert.equal(new TextDecoder().decode(receiver.open(next, 10).payload), 'after removal');
  // in flight from before the rotation: accepted once during grace
  assert.equal(new TextDecoder().decode(receiver.open(old[1]!, 20).payload), 'b');
  // the removed member forging under the old epoch (it holds that key; no signatures): beyond previousEnd, refused
  const keys0 = groupTrafficKeys({ provider: node, suite, protection: 'confidentiality' }, k0.epochSecret, gid, 0);
  const forged = sealGroupFrame({ provider: node, suite, protection: 'confidentiality' }, keys0, gid, 0, 2, utf8('forged'));
  assert.throws(() => receiver.open(forged, 20), code('ERR_UNKNOWN_EPOCH'));
  // after grace the old epoch is gone
  assert.throws(() => receiver.open(old[0]!, 200), code('ERR_UNKNOWN_EPOCH'));
  assert.deepEqual(receiver.epochs(200), [1]);
});

test('[SPEC 13.7] the same epoch handed over again keeps its window; a non-consecutive epoch replaces everything', () => {
  const { sender, receiver } = pair(node, node, 'confidentiality', 'none');
  const f = sender.seal(utf8('x'));
  receiver.open(f, 1);
  assert.ok(receiver.install(sender.currentKey(), undefined, 1));
  assert.throws(() => receiver.open(f, 1), code('ERR_REPLAY'));
  sender.rotate(1);
  const k2 = sender.rotate(1);
  assert.ok(receiver.install(k2, undefined, 1));
  assert.deepEqual(receiver.epochs(1), [2]);
});

test('[SPEC 13.8] automatic rotation limits and the epoch space', () => {
  const suite = suiteByName('X25519_AES128GCM_SHA256');
  const s = new GroupSender({
    ctx: { provider: noble, suite, protection: 'integrity' },
    groupId: new Uint8Array(16),
    sourceAuth: 'none',
    now: 0,
    rotateAfterMessages: 2,
    rotateAfterMs: 1000,
  });
  assert.equal(s.needsRotation(0), false);
  s.seal(utf8('1'));
  s.seal(utf8('2'));
  assert.equal(s.needsRotation(0), true);
  s.rotate(0);
  assert.equal(s.needsRotation(999), false);
  assert.equal(s.needsRotation(1000), true);
  assert.throws(
    () =>
      new GroupSender({
        ctx: { provider: node, suite, protection: 'integrity' },
        groupId: new Uint8Array(16),
        sourceAuth: 'signature',
        now: 0,
      }),
    code('ERR_CONFIG'),
  );
  void encodeGroupHeader;
});
