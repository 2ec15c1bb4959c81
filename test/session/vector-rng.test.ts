/**
 * [SPEC 11.1] Ephemeral keys drawn from a deterministic random stream (test vectors): an EC scalar of 0 or ≥ n is
 * discarded and the next one drawn, with both providers, so the stream defines every key share.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNodeProvider } from '../../src/crypto/node.js';
import { createNobleProvider } from '../../src/crypto/noble.js';
import { fromHex, toHex } from '../../src/bytes/index.js';
import { decodeSignedClearToken1 } from '../../src/codec/tokens.js';
import { complete, initiate, respond, responseFrame, type HandshakeContext } from '../../src/session/handshake.js';
import { deterministicRng } from '../../src/testing/vectors.js';
import { makePair } from '../support/session-pair.js';

/** The group orders n (SEC 2). */
const ORDER = {
  P256_AES128GCM_SHA256: 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551',
  P384_AES256GCM_SHA384: 'ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973',
} as const;

/** A stream that yields `draws` first, then continues as the deterministic stream of `seed`. */
function scripted(draws: readonly Uint8Array[], seed: string): { rng: (n: number) => Uint8Array; log: Uint8Array[] } {
  const rest = deterministicRng(new TextEncoder().encode(seed));
  const queue = [...draws];
  const log: Uint8Array[] = [];
  return {
    rng: (n) => {
      const next = queue.shift();
      const out = next ?? rest(n);
      assert.equal(out.length, n, 'draw length');
      log.push(out.slice());
      return out;
    },
    log,
  };
}

for (const provider of [createNodeProvider(), createNobleProvider()]) {
  for (const [suite, nHex] of Object.entries(ORDER)) {
    test(`[SPEC 11.1] ${suite} (${provider.name}): drawn scalars 0, n and 2^k − 1 are skipped; the next valid draw is the key`, async () => {
      const pair = await makePair({ providerA: provider, suitesA: [suite], suitesB: [suite], keyType: 'ed25519' });
      const len = nHex.length / 2;
      const bad = [new Uint8Array(len), fromHex(nHex), new Uint8Array(len).fill(0xff)];
      const good = fromHex(`00${'11'.repeat(len - 1)}`);
      const a = scripted([...bad, good], 'initiator');
      const ctxA: HandshakeContext = { ...pair.a, rng: a.rng };
      const { pending, frame } = initiate(ctxA, pair.idB, Date.now());
      const token = decodeSignedClearToken1(frame.subarray(1)).token;
      const share = token.keyShares[0]?.publicKey;
      assert.ok(share);
      const group = pending.offered[0]!.group;
      assert.ok(group !== 'x25519mlkem768', 'an EC suite');
      assert.equal(toHex(share), toHex(provider.kexKeyPair(group, good).publicKey), 'key share = the first valid draw');
      // Draw order: the three refused scalars, the key, then the session id and the random (SPEC 11.1).
      assert.deepEqual(
        a.log.map((d) => d.length),
        [len, len, len, len, 8, 16],
      );
      assert.equal(toHex(token.sessionId), toHex(a.log[4]!));
      assert.equal(toHex(token.random), toHex(a.log[5]!));
      // The responder skips the same way, and the session works.
      const b = scripted([fromHex(nHex), good], 'responder');
      const r = await respond({ ...pair.b, rng: b.rng }, frame, pair.idA, Date.now());
      assert.deepEqual(
        b.log.map((d) => d.length),
        [len, len, 16],
      );
      const c = await complete(ctxA, pending, responseFrame(r.token), pair.idB, Date.now());
      const [d] = r.session.open(c.session.seal(Uint8Array.of(7)), Date.now());
      assert.deepEqual(d?.type === 'data' && [...d.payload], [7]);
    });
  }
}
