/**
 * [SPEC 7.6, 8.8] End-to-end acknowledgements at the endpoint: `send(…, { confirm: true })`, the
 * `unconfirmed` event and `endpoint.unconfirmed(peer)`, with an intermediary that drops frames and a peer
 * that loses its state.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createEndpoint, type Endpoint } from '../../src/endpoint/endpoint.js';
import type { UnconfirmedEvent } from '../../src/endpoint/events.js';
import { frameTypeName } from '../../src/adversary/index.js';
import { utf8, fromUtf8 } from '../../src/bytes/index.js';
import { isHopsafeError } from '../../src/errors/index.js';
import { cast, text, until, type Cast } from '../support/endpoints.js';

const dec = (b: Uint8Array): string => fromUtf8(b);

function recordUnconfirmed(ep: Endpoint): UnconfirmedEvent[] {
  const out: UnconfirmedEvent[] = [];
  ep.on('unconfirmed', (e) => out.push(e));
  return out;
}

async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return isHopsafeError(e) ? e.code : String(e);
  }
  return 'resolved';
}

describe('end-to-end acknowledgements', () => {
  for (const protection of ['integrity', 'confidentiality'] as const) {
    test(`[SPEC 7.6] ${protection}: confirm resolves once the peer acknowledged; ACKs are coalesced (acks.every 16 here)`, async () => {
      const c = await cast(['a', 'b'], { protection, acks: { every: 16 } });
      try {
        let acks = 0;
        c.hub.tap((f) => {
          if (f.from === 'b' && frameTypeName(f.bytes) === 'ACK') acks++;
        });
        const ev = recordUnconfirmed(c.eps.a!);
        await c.eps.a!.send('b', utf8('first'), { confirm: true });
        assert.equal(c.inbox.b!.length, 1, 'confirmed means the peer had accepted it');
        const all = Array.from({ length: 40 }, (_, i) => c.eps.a!.send('b', utf8(`m${i}`), { confirm: true }));
        await Promise.all(all);
        assert.equal(c.eps.a!.stats().confirmed, 41);
        assert.deepEqual(c.eps.a!.unconfirmed('b'), []);
        assert.ok(acks >= 3 && acks < 41, `${acks} ACK records for 41 messages`);
        assert.deepEqual(ev, []);
        // plain sends are tracked too (counted, reported if lost) without waiting
        await c.eps.a!.send('b', utf8('plain'));
        await until(() => c.eps.a!.stats().confirmed === 42, 3000, 'plain send confirmed');
      } finally {
        await c.close();
      }
    });
  }

  test('[SPEC 7.6] a record dropped by the intermediary is reported ERR_NOT_CONFIRMED once 64 later ones were acknowledged; nothing else is', async () => {
    // One record per frame, so the intermediary can drop exactly one (a dropped BATCH: test/endpoint/coalescing.test.ts).
    const c = await cast(['a', 'b'], { perEndpoint: { a: { coalesce: { maxRecords: 1 } } } });
    try {
      await c.eps.a!.send('b', utf8('warm-up'), { confirm: true });
      let data = 0;
      c.hub.tap((f) => (f.from === 'a' && frameTypeName(f.bytes) === 'DATA' && ++data === 5 ? null : undefined));
      const ev = recordUnconfirmed(c.eps.a!);
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => rejection(c.eps.a!.send('b', utf8(`m${i}`), { confirm: true }))),
      );
      assert.deepEqual(
        results.flatMap((r, i) => (r === 'resolved' ? [] : [[i, r]])),
        [[4, 'ERR_NOT_CONFIRMED']],
      );
      assert.deepEqual(
        ev.map((e) => [e.code, e.messages.map(dec)]),
        [['ERR_NOT_CONFIRMED', ['m4']]],
      );
      assert.equal(c.inbox.b!.length, 100, 'warm-up + 99 delivered');
      assert.ok(!c.inbox.b!.map(text).includes('m4'));
    } finally {
      await c.close();
    }
  });

  test('[SPEC 7.6, 8.8] a peer restarting with its state lost: the application learns exactly which messages were not confirmed, and can send them again', async () => {
    const c = await cast(['a', 'b']);
    try {
      const a = c.eps.a!;
      const ev = recordUnconfirmed(a);
      for (const m of ['one', 'two']) await a.send('b', utf8(m), { confirm: true });
      // b crashes: nothing it would still say (ACKs, goodbye) leaves; its state is gone
      const silence = c.hub.tap((f) => (f.from === 'b' ? null : undefined));
      await c.eps.b!.close();
      silence();
      const b2 = await createEndpoint({
        id: 'b',
        identity: c.pki.identities.b!,
        trust: { roots: c.pki.roots },
        transport: c.hub.transport(),
      });
      const got: string[] = [];
      b2.on('message', (m) => got.push(text(m)));
      const lost = ['three', 'four'].map((m) => rejection(a.send('b', utf8(m), { confirm: true })));
      // b2 refuses the records (unknown session) and hints; a opens a new session and reports the old one's unconfirmed messages
      assert.deepEqual(await Promise.all(lost), ['ERR_UNKNOWN_SESSION', 'ERR_UNKNOWN_SESSION']);
      assert.deepEqual(
        ev.map((e) => [e.code, e.messages.map(dec)]),
        [['ERR_UNKNOWN_SESSION', ['three', 'four']]],
      );
      // the application sends them again on the new session
      for (const m of ev.flatMap((e) => e.messages)) await a.send('b', m, { confirm: true });
      assert.deepEqual(got, ['three', 'four']);
      assert.equal(a.stats().handshakes.completed, 2);
      await b2.close();
    } finally {
      await c.close();
    }
  });

  test('[SPEC 7.6] no acknowledgement within acks.timeoutMs → ERR_TIMEOUT; a late ACK changes nothing', async () => {
    const c = await cast(['a', 'b'], { perEndpoint: { a: { acks: { timeoutMs: 150 } } } });
    try {
      await c.eps.a!.send('b', utf8('ok'), { confirm: true });
      const held: Uint8Array[] = [];
      const stop = c.hub.tap((f) => {
        if (f.from === 'b' && frameTypeName(f.bytes) === 'ACK') {
          held.push(f.bytes);
          return null;
        }
        return undefined;
      });
      const ev = recordUnconfirmed(c.eps.a!);
      const t0 = Date.now();
      assert.equal(await rejection(c.eps.a!.send('b', utf8('slow'), { confirm: true })), 'ERR_TIMEOUT');
      assert.ok(Date.now() - t0 >= 140, 'not before the timeout');
      assert.deepEqual(
        ev.map((e) => [e.code, e.messages.map(dec)]),
        [['ERR_TIMEOUT', ['slow']]],
      );
      assert.equal(c.inbox.b!.length, 2, 'it was delivered: "not confirmed" is not "lost"');
      stop();
      await c.eps.a!.send('b', utf8('after'), { confirm: true });
      assert.equal(c.eps.a!.stats().unconfirmed, 1);
    } finally {
      await c.close();
    }
  });

  test('[SPEC 7.6] tracking is bounded (acks.track): the oldest is reported ERR_QUEUE_FULL, never dropped silently', async () => {
    const c = await cast(['a', 'b'], { perEndpoint: { a: { acks: { track: 3 } } } });
    try {
      await c.eps.a!.send('b', utf8('w'), { confirm: true });
      c.hub.tap((f) => (f.from === 'b' && frameTypeName(f.bytes) === 'ACK' ? null : undefined));
      const ev = recordUnconfirmed(c.eps.a!);
      for (let i = 0; i < 5; i++) await c.eps.a!.send('b', utf8(`q${i}`));
      assert.deepEqual(
        ev.map((e) => [e.code, e.messages.map(dec)]),
        [
          ['ERR_QUEUE_FULL', ['q0']],
          ['ERR_QUEUE_FULL', ['q1']],
        ],
      );
      assert.deepEqual(c.eps.a!.unconfirmed('b').map(dec), ['q2', 'q3', 'q4']);
    } finally {
      await c.close();
    }
  });

  test('[SPEC 7.6] past the tracking bound the oldest ⌈track/16⌉ are given up on together: one report, not one per message', async () => {
    const c = await cast(['a', 'b'], { perEndpoint: { a: { acks: { track: 32 } } } });
    try {
      await c.eps.a!.send('b', utf8('w'), { confirm: true });
      c.hub.tap((f) => (f.from === 'b' && frameTypeName(f.bytes) === 'ACK' ? null : undefined));
      const ev = recordUnconfirmed(c.eps.a!);
      for (let i = 0; i < 36; i++) await c.eps.a!.send('b', utf8(`q${i}`));
      assert.deepEqual(
        ev.map((e) => [e.code, e.messages.map(dec)]),
        [
          ['ERR_QUEUE_FULL', ['q0', 'q1']],
          ['ERR_QUEUE_FULL', ['q2', 'q3']],
        ],
      );
      assert.equal(c.eps.a!.unconfirmed('b').length, 32);
      assert.equal(dec(c.eps.a!.unconfirmed('b')[0]!), 'q4');
    } finally {
      await c.close();
    }
  });

  test("[SPEC 7.6, 8.7] a message refused by the peer's policy is not confirmed: ERR_FORBIDDEN", async () => {
    const c = await cast(['a', 'b'], {
      perEndpoint: { b: { authorize: (x) => x.direction === 'send' || text({ data: x.data } as never) !== 'secret' } },
    });
    try {
      assert.equal(await rejection(c.eps.a!.send('b', utf8('secret'), { confirm: true })), 'ERR_FORBIDDEN');
      await c.eps.a!.send('b', utf8('public'), { confirm: true });
      assert.deepEqual(c.inbox.b!.map(text), ['public']);
    } finally {
      await c.close();
    }
  });

  test('[SPEC 7.6] a peer that closes gracefully acknowledges what it received first', async () => {
    const c: Cast = await cast(['a', 'b'], { perEndpoint: { b: { acks: { delayMs: 1000 } } } });
    try {
      const ev = recordUnconfirmed(c.eps.a!);
      for (const m of ['x', 'y', 'z']) await c.eps.a!.send('b', utf8(m));
      await until(() => c.inbox.b!.length === 3);
      await c.eps.b!.close();
      await until(() => c.eps.a!.sessions().length === 0, 3000, 'session closed by the peer');
      assert.equal(c.eps.a!.stats().confirmed, 3);
      assert.deepEqual(ev, []);
    } finally {
      await c.close();
    }
  });

  test('[SPEC 7.6] the session ending with messages unacknowledged reports them (peer closed: ERR_CLOSED)', async () => {
    const c = await cast(['a', 'b']);
    try {
      await c.eps.a!.send('b', utf8('w'), { confirm: true });
      // b receives nothing more, then closes
      c.hub.tap((f) => (f.from === 'a' ? null : undefined));
      const ev = recordUnconfirmed(c.eps.a!);
      const pending = rejection(c.eps.a!.send('b', utf8('never'), { confirm: true }));
      await c.eps.b!.close();
      assert.equal(await pending, 'ERR_CLOSED');
      assert.deepEqual(
        ev.map((e) => [e.code, e.messages.map(dec)]),
        [['ERR_CLOSED', ['never']]],
      );
    } finally {
      await c.close();
    }
  });

  test('[SPEC 5.3, 7.6] integrity-mode early data is confirmed by the signed handshake response; both directions confirm under simultaneous open', async () => {
    const c = await cast(['a', 'b'], { protection: 'integrity' });
    try {
      await c.eps.a!.send('b', utf8('early'), { confirm: true });
      assert.equal(c.eps.a!.stats().confirmed, 1);
      const d = await cast(['p', 'q']);
      try {
        await Promise.all([d.eps.p!.send('q', utf8('from p'), { confirm: true }), d.eps.q!.send('p', utf8('from q'), { confirm: true })]);
        assert.deepEqual([d.inbox.p!.map(text), d.inbox.q!.map(text)], [['from q'], ['from p']]);
      } finally {
        await d.close();
      }
    } finally {
      await c.close();
    }
  });

  test('[SPEC 7.6] acks.track = 0 turns tracking off; confirm is then a configuration error', async () => {
    const c = await cast(['a', 'b'], { perEndpoint: { a: { acks: { track: 0 } } } });
    try {
      await c.eps.a!.send('b', utf8('x'));
      assert.equal(await rejection(c.eps.a!.send('b', utf8('y'), { confirm: true })), 'ERR_CONFIG');
      assert.deepEqual(c.eps.a!.unconfirmed('b'), []);
      await assert.rejects(cast(['e'], { acks: { every: 33 } }), (e: unknown) => isHopsafeError(e) && e.code === 'ERR_CONFIG');
    } finally {
      await c.close();
    }
  });
});
