/**
 * A hostile intermediary against hybrid X25519MLKEM768 handshakes between endpoints (memory hub): an altered ML-KEM
 * encapsulation key or ciphertext, and a hybrid offer stripped to force X25519, are refused with a typed error,
 * nothing is delivered, and a later genuine handshake completes with the hybrid suite. [SPEC 4.2, 5.3, 5.5, 12]
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { arena, text, until } from '../support/arena.js';
import { rewriteClearToken1 } from '../../src/adversary/index.js';
import { GROUP_IDS, suiteByName } from '../../src/crypto/suites.js';
import type { ClearToken1 } from '../../src/codec/tokens.js';
import type { ErrorCode } from '../../src/errors/index.js';

const HYBRID = 'X25519MLKEM768_AES256GCM_SHA384';
const OFFER = [HYBRID, 'X25519_AES128GCM_SHA256'];
const G = GROUP_IDS.x25519mlkem768;

const flipShare =
  (at: number) =>
  (t: ClearToken1): ClearToken1 => ({
    ...t,
    keyShares: t.keyShares.map((k) =>
      k.group === G ? { ...k, publicKey: Uint8Array.from(k.publicKey, (x, i) => (i === at ? x ^ 1 : x)) } : k,
    ),
  });
const stripHybrid = (t: ClearToken1): ClearToken1 => ({
  ...t,
  suites: t.suites.filter((s) => s !== suiteByName(HYBRID).id),
  keyShares: t.keyShares.filter((k) => k.group !== G),
});

const cases: Array<[string, 'HS_INIT' | 'HS_RESP', (t: ClearToken1) => ClearToken1, ErrorCode]> = [
  ['HS_INIT: ML-KEM encapsulation key altered', 'HS_INIT', flipShare(32 + 600), 'ERR_BAD_SIGNATURE'],
  ['HS_INIT: X25519 part of the hybrid share altered', 'HS_INIT', flipShare(3), 'ERR_BAD_SIGNATURE'],
  ['HS_INIT: hybrid suite and share stripped (downgrade to X25519)', 'HS_INIT', stripHybrid, 'ERR_BAD_SIGNATURE'],
  ['HS_RESP: ML-KEM ciphertext altered', 'HS_RESP', flipShare(32 + 1000), 'ERR_BAD_SIGNATURE'],
];

for (const mode of ['integrity', 'confidentiality'] as const) {
  describe(`hybrid handshake under attack (${mode})`, () => {
    for (const [what, type, fn, code] of cases) {
      test(`[SPEC 5.3, 5.5] ${what} → ${code}; nothing delivered; the next handshake is hybrid`, async () => {
        const x = await arena(
          ['a', 'b'],
          [{ name: 'rw', match: { type, nth: 1 }, action: { kind: 'rewrite', fn: (b) => rewriteClearToken1(b, fn) } }],
          {
            protection: mode,
            handshakeTimeoutMs: 400,
            suites: OFFER,
          },
        );
        try {
          const first = x.eps.a!.send('b', new TextEncoder().encode('first')).then(
            () => 'sent',
            () => 'failed',
          );
          // An HS_INIT is refused by b; an HS_RESP by a (which keeps its handshake pending until the timeout).
          await x.rejected(type === 'HS_INIT' ? 'b' : 'a', code);
          if (type === 'HS_INIT') assert.equal(x.eps.b!.stats().handshakes.completed, 0, 'no session at b');
          else assert.equal(x.eps.a!.stats().handshakes.completed, 0, 'no session at a');
          // [SPEC 3.6, 5.4] confidentiality: the queued payload never went and its send fails (hint or timeout); integrity:
          // it rode on the HS_INIT as early data, delivered only if b verified that HS_INIT
          let outcome: string | undefined;
          void first.then((o) => (outcome = o));
          await until(() => outcome !== undefined, 5000, 'first send settles');
          if (mode === 'confidentiality') assert.equal(outcome, 'failed');
          assert.ok(!x.inbox.b!.some((m) => text(m) === 'first') || type === 'HS_RESP', 'a refused HS_INIT delivers nothing');
          if (type === 'HS_RESP') assert.ok(!x.inbox.a!.length, 'nothing delivered to the initiator');
          x.adv.clear();
          await x.noPending('a', 'b');
          await x.roundTrip('a', 'b', 'second');
          const suites = [...x.eps.a!.sessions(), ...x.eps.b!.sessions()].map((s) => s.suite);
          assert.ok(suites.length > 0, 'a session exists');
          assert.ok(
            suites.every((s) => s === HYBRID),
            suites.join(),
          );
        } finally {
          await x.close();
        }
      });
    }
  });
}
