/**
 * A hostile intermediary against the handshake (memory hub): tampered, forged, replayed, delayed,
 * reflected, redirected and downgraded ClearToken1s never create a session, end in the right code,
 * and a later genuine handshake succeeds. [SPEC 3.6, 5.1, 5.3, 5.4, 5.5, 5.6, 5.8]
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { arena, until, text, type Arena } from '../support/arena.js';
import { forgerContext, identityOf } from '../support/forger.js';
import { forgeHandshakeAlert, rewriteClearToken1 } from '../../src/adversary/index.js';
import { initiate, SIGN_CONTEXT } from '../../src/session/handshake.js';
import { decodeSignedClearToken1 } from '../../src/codec/tokens.js';
import { suiteByName } from '../../src/crypto/suites.js';
import { concat, utf8 } from '../../src/bytes/index.js';
import { createTestPki } from '../../src/testing/index.js';
import { isHopsafeError } from '../../src/errors/index.js';
import type { ErrorCode } from '../../src/errors/index.js';

const MODES = ['integrity', 'confidentiality'] as const;
type Mode = (typeof MODES)[number];

/** Awaits `p` while keeping the event loop alive (the endpoint's handshake timer is unref'd). */
async function eventually<T>(p: Promise<T>, ms = 5000): Promise<T> {
  let done: { v: T } | undefined;
  void p.then((v) => (done = { v }));
  await until(() => done !== undefined, ms, 'promise');
  return done!.v;
}

/** a's first send is attacked; the refusal reaches b as `code`; afterwards a new handshake works. */
async function refusedThenRecovers(x: Arena, code: ErrorCode, mode: Mode): Promise<void> {
  const first = x.send('a', 'b', 'first').then(
    () => 'sent',
    (e: unknown) => (isHopsafeError(e) ? e.code : 'other'),
  );
  await x.rejected('b', code);
  // [SPEC 3.6] b answers with an HS_ALERT hint (except for floods' codes); a's queued send learns it — as
  // ERR_PEER_REFUSED: the hint is unauthenticated, so the code it names never reaches the application
  const outcome = await eventually(first);
  if (mode === 'confidentiality' && !['ERR_REPLAY', 'ERR_MALFORMED', 'ERR_TOO_LARGE', 'ERR_HANDSHAKE_LIMIT'].includes(code))
    assert.equal(outcome, 'ERR_PEER_REFUSED');
  assert.equal(x.eps.b!.stats().handshakes.completed, 0, 'no session was created');
  assert.ok(!x.inbox.b!.some((m) => text(m) === 'first'), 'nothing of the refused handshake was delivered');
  x.adv.clear();
  await x.noPending('a', 'b');
  await x.roundTrip('a', 'b', 'second');
  x.assertClean();
}

for (const mode of MODES) {
  describe(`handshake under attack (${mode})`, () => {
    const opts = { protection: mode, handshakeTimeoutMs: 400 } as const;

    test('[SPEC 5.3] bit flip in the HS_INIT signature → ERR_BAD_SIGNATURE; no session; a new handshake works', async () => {
      const x = await arena(
        ['a', 'b'],
        [{ name: 'f', match: { type: 'HS_INIT', nth: 1 }, action: { kind: 'flip', region: 'signature', bit: 100 } }],
        opts,
      );
      try {
        await refusedThenRecovers(x, 'ERR_BAD_SIGNATURE', mode);
      } finally {
        await x.close();
      }
    });

    test('[SPEC 5.4, 10] bit flip in the certificate inside the HS_INIT (its CA signature) → ERR_CERT_UNTRUSTED', async () => {
      const x = await arena(
        ['a', 'b'],
        [{ name: 'f', match: { type: 'HS_INIT', nth: 1 }, action: { kind: 'flip', region: 'certificate', bit: -9 } }],
        opts,
      );
      try {
        await refusedThenRecovers(x, 'ERR_CERT_UNTRUSTED', mode);
      } finally {
        await x.close();
      }
    });

    test('[SPEC 5.1] HS_INIT truncated or extended → ERR_MALFORMED (canonical DER), no alert, new handshake works', async () => {
      for (const action of [
        { kind: 'truncate', by: 1 },
        { kind: 'extend', length: 1 },
      ] as const) {
        const x = await arena(['a', 'b'], [{ name: 'f', match: { type: 'HS_INIT', nth: 1 }, action }], opts);
        try {
          await refusedThenRecovers(x, 'ERR_MALFORMED', mode);
        } finally {
          await x.close();
        }
      }
    });

    test('[SPEC 5.3] random bit flips anywhere in HS_INIT (seeded, 25 frames): never a session', async () => {
      const x = await arena(['a', 'b'], [{ name: 'f', match: { type: 'HS_INIT', from: 'a' }, action: { kind: 'flip', region: 'token' } }], {
        ...opts,
        handshakeTimeoutMs: 150,
        seed: 11,
      });
      try {
        for (let i = 0; i < 25; i++) {
          void x.eps.a!.send('b', utf8(`t${i}`)).catch(() => undefined);
          await until(() => x.rejects.b!.length >= i + 1, 3000, `refusal ${i}`);
          await until(() => x.eps.a!.stats().handshakes.failed >= i + 1, 3000, `pending ${i} ends`);
        }
        assert.equal(x.eps.b!.stats().handshakes.completed, 0);
        assert.equal(x.inbox.b!.length, 0);
      } finally {
        await x.close();
      }
    });

    const rewrites: Array<
      [string, (t: ReturnType<typeof decodeSignedClearToken1>['token']) => ReturnType<typeof decodeSignedClearToken1>['token'], ErrorCode]
    > = [
      ['receiverId changed (addressed to someone else)', (t) => ({ ...t, receiverId: 'c' }), 'ERR_WRONG_PEER'],
      ['timestamp changed (signature still the old one)', (t) => ({ ...t, timestamp: t.timestamp + 1 }), 'ERR_BAD_SIGNATURE'],
      ['offer downgraded to one suite', (t) => ({ ...t, suites: [suiteByName('X25519_AES256GCM_SHA384').id] }), 'ERR_BAD_SIGNATURE'],
      [
        'protection mode flipped',
        (t) => ({ ...t, protection: t.protection === 'integrity' ? 'confidentiality' : 'integrity' }),
        'ERR_BAD_SIGNATURE',
      ],
      [
        'key share replaced',
        (t) => ({ ...t, keyShares: t.keyShares.map((k) => ({ ...k, publicKey: new Uint8Array(32).fill(7) })) }),
        'ERR_BAD_SIGNATURE',
      ],
    ];
    for (const [what, fn, c] of rewrites) {
      let code = c;
      // [SPEC 5.5] a responder accepts only its own mode by default, a cheap check before the signature (and in integrity
      // mode a token switched to confidentiality fails the early-data rule too)
      if (what === 'protection mode flipped') code = 'ERR_NEGOTIATION';
      test(`[SPEC 5.4, 5.5] HS_INIT ${what} → ${code}`, async () => {
        const x = await arena(
          ['a', 'b'],
          [{ name: 'rw', match: { type: 'HS_INIT', nth: 1 }, action: { kind: 'rewrite', fn: (b) => rewriteClearToken1(b, fn) } }],
          opts,
        );
        try {
          await refusedThenRecovers(x, code, mode);
        } finally {
          await x.close();
        }
      });
    }

    test('[SPEC 5.5] the downgrade action on the offer → ERR_BAD_SIGNATURE; the selection rewritten in HS_RESP → refused by the initiator, genuine response still wins', async () => {
      const x = await arena(
        ['a', 'b'],
        [{ name: 'dg', match: { type: 'HS_INIT', nth: 1 }, action: { kind: 'downgrade', suites: [0x0103] } }],
        opts,
      );
      try {
        await refusedThenRecovers(x, 'ERR_BAD_SIGNATURE', mode);
      } finally {
        await x.close();
      }
      // HS_RESP: a forged copy with another (offered / not offered) suite arrives first; the genuine one after it.
      const y = await arena(
        ['a', 'b'],
        [
          {
            name: 'sel',
            match: { type: 'HS_RESP', nth: 1 },
            action: {
              kind: 'inject',
              position: 'before',
              make: (f) => [
                rewriteClearToken1(f.bytes, (t) => ({ ...t, suites: [0x0103] })),
                rewriteClearToken1(f.bytes, (t) => ({ ...t, suites: [0x0303] })),
              ],
            },
          },
        ],
        opts,
      );
      try {
        await y.roundTrip('a', 'b', 'x');
        await y.rejected('a', 'ERR_BAD_SIGNATURE');
        await y.rejected('a', 'ERR_NEGOTIATION');
        await until(() => y.eps.a!.stats().handshakes.completed === 1);
        assert.equal(y.eps.a!.sessions()[0]!.suite, 'X25519_AES128GCM_SHA256');
        y.assertClean();
      } finally {
        await y.close();
      }
    });

    test('[SPEC 5.4] a tampered HS_RESP (signature / certificate) does not abort the pending handshake: the genuine one completes it', async () => {
      const x = await arena(
        ['a', 'b'],
        [
          {
            name: 'fake-first',
            match: { type: 'HS_RESP', nth: 1 },
            action: {
              kind: 'inject',
              position: 'before',
              make: (f) => {
                const sig = f.bytes.slice();
                sig[sig.length - 5] = (sig[sig.length - 5] as number) ^ 1;
                return [sig, forgeHandshakeAlert(new Uint8Array(8), 'ERR_BAD_SIGNATURE')];
              },
            },
          },
        ],
        opts,
      );
      try {
        await x.roundTrip('a', 'b', 'x');
        await x.rejected('a', 'ERR_BAD_SIGNATURE');
        await until(() => x.eps.a!.stats().handshakes.completed === 1);
        x.assertClean();
      } finally {
        await x.close();
      }
    });

    test('[SPEC 5.4] HS_RESP tampered and the genuine one lost → ERR_BAD_SIGNATURE, then ERR_TIMEOUT to the sender; the next send re-handshakes', async () => {
      const x = await arena(
        ['a', 'b'],
        [{ name: 'f', match: { type: 'HS_RESP', nth: 1 }, action: { kind: 'flip', region: 'signature', bit: 7 } }],
        opts,
      );
      try {
        const first = x.eps.a!.send('b', utf8('first')).then(
          () => 'ok',
          (e: unknown) => (isHopsafeError(e) ? e.code : 'other'),
        );
        await x.rejected('a', 'ERR_BAD_SIGNATURE');
        if (mode === 'confidentiality') assert.equal(await eventually(first), 'ERR_TIMEOUT');
        else await eventually(first);
        await until(() => x.eps.a!.stats().handshakes.failed === 1);
        x.adv.clear();
        await x.roundTrip('a', 'b', 'second');
        await until(() => x.eps.a!.stats().handshakes.completed === 1);
        x.sent.b!.push('first'); // integrity mode: 'first' rode (signed) in the HS_INIT and was genuinely delivered
        x.assertClean();
      } finally {
        await x.close();
      }
    });

    test('[SPEC 5.6] a duplicated HS_INIT → ERR_REPLAY, one session; a duplicated HS_RESP → ERR_UNKNOWN_SESSION', async () => {
      const x = await arena(
        ['a', 'b'],
        [{ name: 'dup', match: { type: ['HS_INIT', 'HS_RESP'], nth: [1, 2] }, action: { kind: 'duplicate' } }],
        opts,
      );
      try {
        await x.roundTrip('a', 'b', 'once');
        await x.rejected('b', 'ERR_REPLAY');
        await x.rejected('a', 'ERR_UNKNOWN_SESSION');
        assert.equal(x.eps.b!.stats().handshakes.completed, 1);
        await x.hub.drain();
        assert.deepEqual(x.inbox.b!.map(text), ['once']);
      } finally {
        await x.close();
      }
    });

    test('[SPEC 5.6] an HS_INIT replayed later (inside the window) → ERR_REPLAY; after the window → ERR_STALE; no new session either way', async () => {
      const x = await arena(['a', 'b'], [{ name: 'keep', match: { type: 'HS_INIT', nth: 1 }, action: { kind: 'replay', after: 0 } }], opts);
      try {
        await x.roundTrip('a', 'b', 'one');
        await x.roundTrip('a', 'b', 'two');
        x.adv.release();
        await x.rejected('b', 'ERR_REPLAY');
        assert.equal(x.eps.b!.stats().handshakes.completed, 1);
        x.assertClean();
      } finally {
        await x.close();
      }
      const y = await arena(['a', 'b'], [{ name: 'keep', match: { type: 'HS_INIT', nth: 1 }, action: { kind: 'replay', after: 0 } }], opts);
      try {
        await y.roundTrip('a', 'b', 'one');
        y.skew.b = 31_000;
        y.adv.release();
        await y.rejected('b', 'ERR_STALE');
        assert.equal(y.eps.b!.stats().handshakes.completed, 1);
        y.assertClean();
      } finally {
        await y.close();
      }
    });

    test('[SPEC 5.6] an HS_INIT delayed past the freshness window (clock moved 31 s) → ERR_STALE; the sender learns it; a fresh handshake works', async () => {
      const x = await arena(['a', 'b'], [{ name: 'hold', match: { type: 'HS_INIT', nth: 1 }, action: { kind: 'delay' } }], {
        ...opts,
        handshakeTimeoutMs: 10_000,
      });
      try {
        const first = x.eps.a!.send('b', utf8('late')).then(
          () => 'ok',
          (e: unknown) => (isHopsafeError(e) ? e.code : 'other'),
        );
        await until(() => x.adv.held() === 1);
        x.skew.b = 31_000;
        assert.equal(x.adv.release(), 1);
        await x.rejected('b', 'ERR_STALE');
        // [SPEC 3.6] the sender learns it from an unauthenticated hint: ERR_PEER_REFUSED, never the code it names
        if (mode === 'confidentiality') assert.equal(await eventually(first), 'ERR_PEER_REFUSED');
        x.skew.b = 0;
        x.adv.clear();
        await x.noPending('a', 'b');
        await x.roundTrip('a', 'b', 'fresh');
        assert.ok(!x.inbox.b!.some((m) => text(m) === 'late'));
      } finally {
        await x.close();
      }
    });

    test('[SPEC 5.4, 5.8] an HS_INIT reflected to its sender → ERR_WRONG_PEER (larger id) or ignored as a simultaneous open (smaller id); the real handshake completes', async () => {
      const x = await arena(
        ['zed', 'amy'],
        [{ name: 'refl', match: { type: 'HS_INIT', nth: 1 }, action: { kind: 'reflect', keep: true } }],
        opts,
      );
      try {
        await x.roundTrip('zed', 'amy', 'hi');
        await x.rejected('zed', 'ERR_WRONG_PEER');
        await until(() => x.eps.zed!.stats().handshakes.completed === 1);
        x.assertClean();
      } finally {
        await x.close();
      }
      const y = await arena(
        ['amy', 'zed'],
        [{ name: 'refl', match: { type: 'HS_INIT', nth: 1 }, action: { kind: 'reflect', keep: true } }],
        opts,
      );
      try {
        await y.roundTrip('amy', 'zed', 'hi');
        await until(() => y.eps.amy!.stats().handshakes.completed === 1);
        assert.equal(y.adv.hits('refl'), 1);
        assert.equal(y.eps.amy!.stats().handshakes.completed, 1);
        assert.equal(y.rejects.amy!.length, 0);
      } finally {
        await y.close();
      }
    });

    test('[SPEC 5.4] an HS_INIT redirected to a third endpoint → ERR_WRONG_PEER there; the addressed peer still gets it', async () => {
      const x = await arena(
        ['a', 'b', 'c'],
        [{ name: 'redir', match: { type: 'HS_INIT', to: 'b', nth: 1 }, action: { kind: 'redirect', to: 'c', keep: true } }],
        opts,
      );
      try {
        await x.roundTrip('a', 'b', 'for-b');
        await x.rejected('c', 'ERR_WRONG_PEER');
        assert.equal(x.eps.c!.stats().handshakes.completed, 0);
        x.assertClean();
      } finally {
        await x.close();
      }
    });

    test("[SPEC 5.4, 10] forged HS_INITs: another PKI's certificate for \"a\" → ERR_CERT_UNTRUSTED; a's real certificate with the forger's key → ERR_BAD_SIGNATURE; neither creates a session", async () => {
      const x = await arena(['a', 'b'], [], opts);
      try {
        const evil = await createTestPki({ endpoints: [{ id: 'a' }] });
        const own = forgerContext(identityOf(evil.identities.a!, 'a'), evil.roots, mode);
        x.adv.inject({ from: 'a', to: 'b', bytes: initiate(own, 'b', Date.now()).frame });
        await x.rejected('b', 'ERR_CERT_UNTRUSTED');
        const real = identityOf(x.pki.identities.a!, 'a');
        const stolen = forgerContext({ ...real, privateKey: identityOf(evil.identities.a!, 'a').privateKey }, x.pki.roots, mode);
        x.adv.inject({ from: 'a', to: 'b', bytes: initiate(stolen, 'b', Date.now()).frame });
        await x.rejected('b', 'ERR_BAD_SIGNATURE');
        // re-signed rewrite: the forger signs a's token (mutated) with its own key → also ERR_BAD_SIGNATURE
        const tok = initiate(forgerContext(real, x.pki.roots, mode), 'b', Date.now()).frame;
        const resigned = rewriteClearToken1(
          tok,
          (t) => ({ ...t, suites: [0x0103] }),
          (tbs) => own.provider.sign(own.identity.privateKey, concat(SIGN_CONTEXT.initiator, tbs)),
        );
        x.adv.inject({ from: 'a', to: 'b', bytes: resigned });
        await until(() => x.rejects.b!.filter((r) => r.code === 'ERR_BAD_SIGNATURE').length === 2);
        assert.equal(x.eps.b!.stats().handshakes.completed, 0);
        await x.roundTrip('a', 'b', 'genuine');
        x.assertClean();
      } finally {
        await x.close();
      }
    });

    test('[SPEC 3.6] a forged HS_ALERT may end a pending handshake (a hint, like a drop) — the sender is told, and the next send succeeds', async () => {
      const x = await arena(
        ['a', 'b'],
        [
          {
            name: 'kill',
            match: { type: 'HS_INIT', nth: 1 },
            action: {
              kind: 'rewrite',
              fn: (b, f) => {
                x.adv.inject({
                  from: f.to,
                  to: f.from,
                  bytes: forgeHandshakeAlert(decodeSignedClearToken1(b.subarray(1)).token.sessionId, 'ERR_CERT_REVOKED'),
                });
                return null;
              },
            },
          },
        ],
        opts,
      );
      try {
        const r = await eventually(
          x.eps.a!.send('b', utf8('first')).then(
            () => 'ok',
            (e: unknown) => (isHopsafeError(e) ? e.code : 'other'),
          ),
        );
        // [SPEC 3.6] the forged code (ERR_CERT_REVOKED) never reaches the application
        if (mode === 'confidentiality') assert.equal(r, 'ERR_PEER_REFUSED');
        await until(() => x.eps.a!.stats().handshakes.failed === 1);
        x.adv.clear();
        await x.roundTrip('a', 'b', 'second');
        x.assertClean();
      } finally {
        await x.close();
      }
    });

    if (mode === 'confidentiality')
      test('[SPEC 5.3] early data added to a confidentiality-mode HS_INIT → ERR_NEGOTIATION', async () => {
        const x = await arena(
          ['a', 'b'],
          [
            {
              name: 'ed',
              match: { type: 'HS_INIT', nth: 1 },
              action: { kind: 'rewrite', fn: (b) => rewriteClearToken1(b, (t) => ({ ...t, earlyData: utf8('injected') })) },
            },
          ],
          opts,
        );
        try {
          await refusedThenRecovers(x, 'ERR_NEGOTIATION', mode);
        } finally {
          await x.close();
        }
      });
  });
}
