/**
 * The same attacks mounted by the embedded aedes broker (adversary mode) against endpoints on the
 * MQTT transport at QoS 1: a representative subset of records and handshake attacks in both modes.
 * [SPEC 8.2 over 5.x, 7.x]
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { arena, settle, until, text, type Arena } from '../support/arena.js';
import { forgerContext, identityOf } from '../support/forger.js';
import { createAdversary, type AdversaryRule } from '../../src/adversary/index.js';
import { startBroker, type RunningBroker } from '../../src/broker/index.js';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { initiate } from '../../src/session/handshake.js';
import { createTestPki } from '../../src/testing/index.js';
import { utf8 } from '../../src/bytes/index.js';
import { isHopsafeError } from '../../src/errors/index.js';

const brokers: RunningBroker[] = [];
after(async () => {
  await Promise.all(brokers.map((b) => b.close()));
});

async function overBroker(
  ids: readonly string[],
  rules: AdversaryRule[],
  opts: Parameters<typeof arena>[2] = {},
): Promise<Arena & { broker: RunningBroker }> {
  const adversary = createAdversary([], { seed: 3 });
  const broker = await startBroker({ adversary });
  brokers.push(broker);
  // [SPEC 1] the broker is a sender too: reflect/redirect/release go out through broker.inject
  adversary.attach((f) => broker.inject({ from: f.from, to: f.to, bytes: f.bytes }));
  const x = await arena(ids, rules, {
    ...opts,
    network: { adversary, transport: () => mqttTransport({ url: broker.url, mqttOptions: { reconnectPeriod: 100 } }) },
  });
  const closeEndpoints = x.close;
  return Object.assign(x, {
    broker,
    async close() {
      await closeEndpoints();
      await broker.close();
    },
  });
}

for (const mode of ['integrity', 'confidentiality'] as const) {
  describe(`adversarial aedes broker, MQTT QoS 1 (${mode})`, () => {
    test('[SPEC 7.1] payload bit flip → ERR_BAD_MAC, not delivered; session goes on', async () => {
      const x = await overBroker(['a', 'b'], [], { protection: mode });
      try {
        await x.roundTrip('a', 'b', 'one');
        x.adv.add({
          name: 'f',
          match: { type: 'DATA', from: 'a', nth: 1 },
          action: { kind: 'flip', region: 'payload', tagLength: mode === 'integrity' ? 32 : 16 },
        });
        await x.send('a', 'b', 'tampered');
        await x.rejected('b', 'ERR_BAD_MAC');
        await x.roundTrip('a', 'b', 'after');
        assert.ok(x.adv.hits('f') >= 1);
        assert.ok(!x.inbox.b!.some((m) => text(m) === 'tampered'));
        x.assertClean();
      } finally {
        await x.close();
      }
    });

    test('[SPEC 7.4] every DATA frame duplicated twice by the broker: each message reaches the application exactly once', async () => {
      const x = await overBroker(
        ['a', 'b'],
        [{ name: 'dup', match: { type: 'DATA', from: 'a' }, action: { kind: 'duplicate', copies: 2 } }],
        { protection: mode },
      );
      try {
        for (let i = 0; i < 20; i++) await x.send('a', 'b', `m${i}`);
        await until(() => x.inbox.b!.length === 20);
        await until(() => (x.eps.b!.stats().rejected.ERR_REPLAY ?? 0) >= 2 * (mode === 'integrity' ? 19 : 20));
        await settle(100);
        assert.deepEqual(
          x.inbox.b!.map(text),
          Array.from({ length: 20 }, (_, i) => `m${i}`),
        );
        x.assertClean();
      } finally {
        await x.close();
      }
    });

    test('[SPEC 7.4] dropped, reordered and replayed-later frames: the rest delivered once, the replay refused', async () => {
      const x = await overBroker(['a', 'b'], [], { protection: mode });
      try {
        await x.roundTrip('a', 'b', 'w0');
        // (each rule counts the frames that reach it, after the rules before it)
        x.adv.add({ name: 'replay', match: { type: 'DATA', from: 'a', nth: 6 }, action: { kind: 'replay', after: 2 } });
        x.adv.add({ name: 'swap', match: { type: 'DATA', from: 'a', nth: 4 }, action: { kind: 'reorder' } });
        x.adv.add({ name: 'drop', match: { type: 'DATA', from: 'a', nth: 2 }, action: { kind: 'drop' } });
        for (let i = 1; i <= 9; i++) await x.send('a', 'b', `w${i}`);
        await x.rejected('b', 'ERR_REPLAY');
        await until(() => x.inbox.b!.length >= 9);
        await settle(100);
        const got = x.inbox.b!.map(text);
        assert.deepEqual(got, ['w0', 'w1', 'w3', 'w5', 'w4', 'w6', 'w7', 'w8', 'w9']);
        x.assertClean();
      } finally {
        await x.close();
      }
    });

    test('[SPEC 7.1] a DATA frame reflected by the broker (published back as from the receiver) → ERR_BAD_MAC at the sender', async () => {
      const x = await overBroker(
        ['a', 'b'],
        [{ name: 'refl', match: { type: 'DATA', from: 'a', nth: 3 }, action: { kind: 'reflect', keep: true } }],
        { protection: mode },
      );
      try {
        await x.roundTrip('a', 'b', 'r0');
        await x.roundTrip('b', 'a', 'back');
        for (const m of ['r1', 'r2', 'r3']) await x.send('a', 'b', m);
        await x.rejected('a', 'ERR_BAD_MAC');
        await x.roundTrip('b', 'a', 'after');
        x.assertClean();
      } finally {
        await x.close();
      }
    });

    test('[SPEC 5.4, 5.5] HS_INIT redirected to a third endpoint → ERR_WRONG_PEER; downgraded offer → ERR_BAD_SIGNATURE; a forged ClearToken1 → ERR_CERT_UNTRUSTED', async () => {
      const x = await overBroker(
        ['a', 'b', 'c'],
        [
          { name: 'redir', match: { type: 'HS_INIT', from: 'a', to: 'b', nth: 1 }, action: { kind: 'redirect', to: 'c', keep: true } },
          { name: 'dg', match: { type: 'HS_INIT', from: 'c', to: 'b', nth: 1 }, action: { kind: 'downgrade', suites: [0x0103] } },
        ],
        { protection: mode, handshakeTimeoutMs: 500 },
      );
      try {
        await x.roundTrip('a', 'b', 'for-b');
        await x.rejected('c', 'ERR_WRONG_PEER');
        void x.eps.c!.send('b', utf8('downgraded')).catch(() => undefined);
        await x.rejected('b', 'ERR_BAD_SIGNATURE');
        const evil = await createTestPki({ endpoints: [{ id: 'a' }] });
        await x.broker.inject({
          from: 'a',
          to: 'b',
          bytes: initiate(forgerContext(identityOf(evil.identities.a!, 'a'), evil.roots, mode), 'b', Date.now()).frame,
        });
        await x.rejected('b', 'ERR_CERT_UNTRUSTED');
        x.adv.clear();
        await x.noPending('c', 'b');
        await x.roundTrip('c', 'b', 'c-genuine');
        await x.roundTrip('a', 'b', 'a-again');
        assert.equal(x.eps.b!.stats().handshakes.completed, 2);
        x.assertClean();
      } finally {
        await x.close();
      }
    });

    test('[SPEC 5.6] the broker holds an HS_INIT past the freshness window → ERR_STALE; a fresh handshake works', async () => {
      const x = await overBroker(['a', 'b'], [{ name: 'hold', match: { type: 'HS_INIT', nth: 1 }, action: { kind: 'delay' } }], {
        protection: mode,
        handshakeTimeoutMs: 10_000,
      });
      try {
        const first = x.eps.a!.send('b', utf8('late')).then(
          () => 'ok',
          (e: unknown) => (isHopsafeError(e) ? e.code : 'other'),
        );
        await until(() => x.adv.held() === 1);
        x.skew.b = 31_000;
        x.adv.release();
        await x.rejected('b', 'ERR_STALE');
        let outcome: string | undefined;
        void first.then((o) => (outcome = o));
        await until(() => outcome !== undefined || mode === 'integrity');
        // [SPEC 3.6] The hint is unauthenticated: the send fails with ERR_PEER_REFUSED, never with the code it names.
        if (mode === 'confidentiality') assert.equal(outcome, 'ERR_PEER_REFUSED');
        x.skew.b = 0;
        x.adv.clear();
        await x.noPending('a', 'b');
        await x.roundTrip('a', 'b', 'fresh');
        assert.ok(!x.inbox.b!.some((m) => text(m) === 'late'));
      } finally {
        await x.close();
      }
    });
  });
}
