import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HopsafeError } from '../../src/errors/index.js';
import { createNodeProvider } from '../../src/crypto/node.js';
import { SUITES } from '../../src/crypto/suites.js';
import { complete, initiate, respond, responseFrame } from '../../src/session/handshake.js';
import { decodeSignedClearToken1, encodeClearToken1, encodeSignedClearToken1 } from '../../src/codec/tokens.js';
import { decodeHandshakeResponse, encodeHandshakeInit, encodeHandshakeResponse } from '../../src/codec/frame.js';
import { handshake, makePair } from '../support/session-pair.js';
import { utf8 } from '../../src/bytes/index.js';

function code(e: unknown): string {
  assert.ok(e instanceof HopsafeError, `expected HopsafeError, got ${String(e)}`);
  return e.code;
}

async function rejects(p: Promise<unknown>, ...codes: string[]): Promise<string> {
  try {
    await p;
  } catch (e) {
    const c = code(e);
    assert.ok(codes.includes(c), `expected one of ${codes.join(',')}, got ${c}: ${(e as Error).message}`);
    return c;
  }
  assert.fail(`expected rejection with ${codes.join(',')}`);
}

const node = createNodeProvider();

describe('[SPEC 5] handshake', () => {
  for (const suite of SUITES.filter((s) => node.supportsGroup(s.group))) {
    for (const protection of ['integrity', 'confidentiality'] as const) {
      test(`[SPEC 5.4, 6] ${suite.name} ${protection}: one round trip, both directions work`, async () => {
        const p = await makePair({ suitesA: [suite.name], suitesB: [suite.name], protection });
        const { sa, sb } = await handshake(p);
        assert.equal(sa.suite.id, suite.id);
        assert.equal(sb.protection, protection);
        const [d1] = sb.open(sa.seal(utf8('hello B')), Date.now());
        assert.deepEqual(d1, { type: 'data', payload: utf8('hello B'), epoch: 0, seq: 0 });
        const [d2] = sa.open(sb.seal(utf8('hello A')), Date.now());
        assert.equal(d2?.type, 'data');
        assert.equal(sa.peer.id, p.idB);
        assert.equal(sb.peer.id, p.idA);
        assert.deepEqual(
          sb.peer.roles.map((r) => r.role),
          ['OPERATOR'],
        );
      });
    }
  }

  test('[SPEC 3.3] Session.id is a copy of the id both sides agree on: writing into it changes nothing', async () => {
    const p = await makePair({});
    const { sa, sb } = await handshake(p);
    const id = sa.id;
    assert.equal(id.length, 8);
    assert.deepEqual(sb.id, id, 'one id for both sides');
    assert.notEqual(sa.id, id, 'a fresh array each time');
    id.fill(0);
    assert.notDeepEqual(sa.id, id, 'the session keeps its id');
    const [d] = sb.open(sa.seal(utf8('after')), Date.now());
    assert.equal(d?.type, 'data', 'records still carry the right id');
  });

  test("[SPEC 5.5] responder picks the initiator's most preferred common suite", async () => {
    const p = await makePair({
      suitesA: ['X25519_CHACHA20POLY1305_SHA256', 'X25519_AES128GCM_SHA256', 'P256_AES128GCM_SHA256'],
      suitesB: ['P256_AES128GCM_SHA256', 'X25519_AES128GCM_SHA256'],
    });
    const { sa } = await handshake(p);
    assert.equal(sa.suite.name, 'X25519_AES128GCM_SHA256');
  });

  test('[SPEC 5.5] no common suite: ERR_NEGOTIATION', async () => {
    const p = await makePair({ suitesA: ['X25519_AES128GCM_SHA256'], suitesB: ['P384_AES256GCM_SHA384'] });
    const { frame } = initiate(p.a, p.idB, Date.now());
    await rejects(respond(p.b, frame, p.idA, Date.now()), 'ERR_NEGOTIATION');
  });

  test('[SPEC 5.5] an intermediary that edits the offer (downgrade) is detected', async () => {
    const p = await makePair({ suitesA: ['X25519_AES256GCM_SHA384', 'X25519_AES128GCM_SHA256'] });
    const now = Date.now();
    const { frame } = initiate(p.a, p.idB, now);
    const st = decodeSignedClearToken1(frame.subarray(1));
    // Drop the strong suite, keep the signature.
    const weaker = { ...st.token, suites: st.token.suites.slice(1) };
    const forged = encodeHandshakeInit(encodeSignedClearToken1(encodeClearToken1(weaker), st.signature));
    await rejects(respond(p.b, forged, p.idA, now), 'ERR_BAD_SIGNATURE');
  });

  test('[SPEC 5.4, 5.5] an altered response is refused and the pending handshake survives', async () => {
    const p = await makePair({ suitesA: ['X25519_AES256GCM_SHA384', 'X25519_AES128GCM_SHA256'] });
    const now = Date.now();
    const { pending, frame } = initiate(p.a, p.idB, now);
    const r = await respond(p.b, frame, p.idA, now);
    const st = decodeSignedClearToken1(r.token);
    const altered = { ...st.token, suites: [0x0101] };
    const forged = encodeHandshakeResponse(encodeSignedClearToken1(encodeClearToken1(altered), st.signature));
    await rejects(complete(p.a, pending, forged, p.idB, now), 'ERR_BAD_SIGNATURE', 'ERR_NEGOTIATION');
    const ok = await complete(p.a, pending, responseFrame(r.token), p.idB, now);
    assert.equal(ok.session.suite.name, 'X25519_AES256GCM_SHA384');
  });

  test('[SPEC 5.6] stale ClearToken1 (outside ±30 s) is refused', async () => {
    const p = await makePair();
    const now = Date.now();
    const { frame } = initiate(p.a, p.idB, now - 30_001);
    await rejects(respond(p.b, frame, p.idA, now), 'ERR_STALE');
    const { frame: future } = initiate(p.a, p.idB, now + 30_001);
    await rejects(respond(p.b, future, p.idA, now), 'ERR_STALE');
  });

  test('[SPEC 5.6] a replayed ClearToken1 never creates a second session', async () => {
    const p = await makePair();
    const now = Date.now();
    const { frame } = initiate(p.a, p.idB, now);
    await respond(p.b, frame, p.idA, now);
    await rejects(respond(p.b, frame, p.idA, now + 1000), 'ERR_REPLAY');
    // after the window the timestamp itself is stale
    await rejects(respond(p.b, frame, p.idA, now + 31_000), 'ERR_STALE');
  });

  test('[SPEC 5.4] token for another receiver or from another sender: ERR_WRONG_PEER', async () => {
    const p = await makePair();
    const now = Date.now();
    const { frame } = initiate(p.a, 'someone-else', now);
    await rejects(respond(p.b, frame, p.idA, now), 'ERR_WRONG_PEER');
    const { frame: f2 } = initiate(p.a, p.idB, now);
    await rejects(respond(p.b, f2, 'mallory', now), 'ERR_WRONG_PEER');
  });

  test('[SPEC 5.3] early data rides in ClearToken1 in integrity mode only', async () => {
    const p = await makePair({ protection: 'integrity' });
    const now = Date.now();
    const { frame } = initiate(p.a, p.idB, now, utf8('MMS Initiate-Request'));
    const r = await respond(p.b, frame, p.idA, now);
    assert.deepEqual(r.earlyData, utf8('MMS Initiate-Request'));
    const c = await makePair({ protection: 'confidentiality' });
    assert.throws(
      () => initiate(c.a, c.idB, now, utf8('secret')),
      (e) => code(e) === 'ERR_CONFIG',
    );
  });

  test("[SPEC 3.4] the responder's first payload rides on HS_RESP", async () => {
    const p = await makePair();
    const now = Date.now();
    const { pending, frame } = initiate(p.a, p.idB, now);
    const r = await respond(p.b, frame, p.idA, now);
    const resp = responseFrame(r.token, r.session.seal(utf8('MMS Initiate-Response')));
    assert.ok(decodeHandshakeResponse(resp).record);
    const c = await complete(p.a, pending, resp, p.idB, now);
    assert.ok(c.record);
    const [d] = c.session.open(c.record, now);
    assert.deepEqual(d?.type === 'data' && d.payload, utf8('MMS Initiate-Response'));
  });

  test('[SPEC 5.1, 5.7] any single bit flip in ClearToken1 is refused with a HopsafeError', async () => {
    const p = await makePair();
    const now = Date.now();
    const { frame } = initiate(p.a, p.idB, now);
    await fc.assert(
      fc.asyncProperty(fc.nat(frame.length * 8 - 1), async (bit) => {
        const f = frame.slice();
        f[bit >> 3] = (f[bit >> 3] as number) ^ (1 << (bit & 7));
        const c = await rejects(
          respond(p.b, f, p.idA, now),
          'ERR_MALFORMED',
          'ERR_VERSION',
          'ERR_BAD_SIGNATURE',
          'ERR_WRONG_PEER',
          'ERR_STALE',
          'ERR_NEGOTIATION',
          'ERR_UNSUPPORTED',
          'ERR_CERT_UNTRUSTED',
          'ERR_CERT_NAME',
          'ERR_CERT_USAGE',
          'ERR_CERT_EXPIRED',
          'ERR_CERT_NOT_YET_VALID',
          'ERR_TOO_LARGE',
        );
        assert.ok(c);
      }),
      { numRuns: 150 },
    );
  });

  test('[SPEC 5.4] any single bit flip in the response is refused', async () => {
    const p = await makePair();
    const now = Date.now();
    const { pending, frame } = initiate(p.a, p.idB, now);
    const r = await respond(p.b, frame, p.idA, now);
    const resp = responseFrame(r.token);
    await fc.assert(
      fc.asyncProperty(fc.nat(resp.length * 8 - 1), async (bit) => {
        const f = resp.slice();
        f[bit >> 3] = (f[bit >> 3] as number) ^ (1 << (bit & 7));
        await assert.rejects(complete(p.a, pending, f, p.idB, now), HopsafeError);
      }),
      { numRuns: 150 },
    );
  });
});
