/**
 * Offline start at the per-peer machine (issue 22, docs/offline-start.md option C): a session started while the peer
 * is offline for longer than the freshness window. The initiator's HS_INIT waits at a storing broker (here: the test's
 * wire, held), the returning peer refuses it as stale and hints so; the initiator replaces it with a fresh token.
 * No real time passes: the clock is a number the test moves. [SPEC 5.11, 3.6, 5.6, 5.9]
 */
import { test } from 'node:test';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { createTestPki, type TestPki } from '../../src/testing/index.js';
import { forgeHandshakeAlert } from '../../src/adversary/index.js';
import { decodeSignedClearToken1 } from '../../src/codec/tokens.js';
import { equal } from '../../src/bytes/index.js';
import { PeerNet, type NetNode } from '../support/peer-net.js';

const MIN = 60_000;
let pkiP: Promise<TestPki> | undefined;
const pki = (): Promise<TestPki> => (pkiP ??= createTestPki({ endpoints: [{ id: 'a' }, { id: 'b' }] }));

const isInit = (b: Uint8Array): boolean => b[0] === 0x11;
const token = (b: Uint8Array) => decodeSignedClearToken1(b.subarray(1)).token;
const texts = (x: NetNode): string[] => x.delivered.map((d) => d.text);

/** a sends three messages to b, which is offline (its frames wait on the wire) for `offlineMs`. */
async function offlineScene(protection: 'integrity' | 'confidentiality', offlineMs: number) {
  const p = await pki();
  const n = new PeerNet(p.roots);
  const a = n.node('a', p.identities.a!, { protection, offlineStartMs: 5 * MIN });
  const sends = ['one', 'two', 'three'].map((m) => n.send('a', 'b', m));
  const stale = n.wire.find((f) => isInit(f.bytes))!.bytes;
  for (let t = 0; t < offlineMs; t += 1000) await n.advance(1000); // a re-sends into the store meanwhile
  return { n, a, p, sends, stale };
}

for (const protection of ['integrity', 'confidentiality'] as const) {
  test(`[SPEC 5.11] ${protection}: three messages to a peer offline for 2 minutes are delivered once, in order, under a fresh handshake; nothing replayable is accepted`, async () => {
    const { n, a, p, sends, stale } = await offlineScene(protection, 2 * MIN);
    assert.ok(a.machine('b').handshaking, 'the handshake outlived handshakeTimeoutMs (offlineStartMs)');
    assert.equal(a.machine('b').waiting, 3, 'nothing failed meanwhile');
    const storedInits = n.wire.filter((f) => isInit(f.bytes)).length;
    // 1 s apart for handshakeTimeoutMs, then backing off to half the window: ≈ 20 copies in 2 min, not 120
    assert.ok(storedInits >= 11 && storedInits <= 25, `re-sends back off while the peer is away (${storedInits} copies)`);
    // b starts now: a new process; it reads what waited for it
    const b = n.node('b', p.identities.b!, { protection });
    await n.flush();
    assert.deepEqual(texts(b), ['one', 'two', 'three']);
    assert.ok(b.rejects.includes('ERR_STALE'), 'the stale HS_INIT was refused');
    assert.equal(a.env.counters.handshakes.initiated, 2, 'one fresh HS_INIT');
    assert.equal(a.env.counters.handshakes.completed, 1);
    assert.equal(b.env.counters.handshakes.completed, 1, 'one session at the responder');
    assert.deepEqual(await Promise.all(sends), ['sent', 'sent', 'sent']);
    assert.deepEqual(a.rejects, [], 'the hint reached no application');
    // the fresh token kept the session id: same id, new timestamp, random and key shares
    const inits = a.events.flatMap((e) => (e.type === 'transmit' && isInit(e.frame) ? [e.frame] : []));
    const fresh = inits.find((f) => !equal(f, stale))!;
    assert.ok(equal(token(fresh).sessionId, token(stale).sessionId));
    assert.ok(!equal(token(fresh).random, token(stale).random));
    assert.ok(token(fresh).timestamp - token(stale).timestamp >= 2 * MIN);
    // replays afterwards: the stale token (ERR_STALE) and the fresh one (ERR_REPLAY) deliver nothing
    b.rejects.length = 0;
    await n.deliver({ from: 'a', to: 'b', bytes: stale });
    await n.deliver({ from: 'a', to: 'b', bytes: fresh });
    assert.deepEqual(b.rejects, ['ERR_STALE', 'ERR_REPLAY']);
    n.wire.length = 0;
    await n.advance(60 * MIN);
    await n.deliver({ from: 'a', to: 'b', bytes: fresh });
    assert.deepEqual(texts(b), ['one', 'two', 'three'], 'delivered exactly once');
    // the session works both ways
    void n.send('b', 'a', 'reply');
    await n.flush();
    assert.deepEqual(texts(a), ['reply']);
  });
}

test('[SPEC 5.11] without offlineStartMs (default 0) the same absence fails the messages with ERR_TIMEOUT, as before', async () => {
  const p = await pki();
  const n = new PeerNet(p.roots);
  n.node('a', p.identities.a!);
  const sends = ['one', 'two'].map((m) => n.send('a', 'b', m));
  await n.advance(11_000);
  assert.deepEqual(await Promise.all(sends), ['ERR_TIMEOUT', 'ERR_TIMEOUT']);
});

test('[SPEC 5.11, 3.6] forged staleness hints: ignored for a young token, one restart per freshness window at most, never end the handshake, never reach the application', async () => {
  const p = await pki();
  const n = new PeerNet(p.roots);
  const a = n.node('a', p.identities.a!, { protection: 'integrity', offlineStartMs: 10 * MIN });
  const sends = ['one', 'two', 'three'].map((m) => n.send('a', 'b', m));
  const sid = token(n.wire[0]!.bytes).sessionId;
  const forge = (code = 'ERR_STALE', id = sid): Promise<void> => n.deliver({ from: 'b', to: 'a', bytes: forgeHandshakeAlert(id, code) });
  // a young token: the hint cannot be genuine (no responder refuses it yet)
  for (let i = 0; i < 20; i++) await forge();
  assert.equal(a.env.counters.handshakes.initiated, 1, 'ignored: no new token');
  // a hint naming another session id: ignored
  await n.advance(31_000);
  await forge('ERR_STALE', new Uint8Array(8));
  assert.equal(a.env.counters.handshakes.initiated, 1);
  // a forged hint every second for the whole offline period: restarts stay bounded by the window
  for (let t = 0; t < 4 * MIN; t += 1000) {
    await forge();
    await n.advance(1000);
  }
  const restarts = a.env.counters.handshakes.initiated - 1;
  assert.ok(restarts >= 1 && restarts <= Math.ceil((4.5 * MIN) / 30_000), `restarts bounded (${restarts})`);
  assert.ok(a.machine('b').handshaking, 'the handshake still waits');
  assert.equal(a.machine('b').waiting, 3, 'no queued message was failed or dropped');
  assert.ok(!a.rejects.includes('ERR_STALE'));
  // the genuine peer starts: every stored token is stamped before its start (ERR_STALE, §5.6), the newest one too; its
  // hint is acted on once that token is older than the window (the next re-send's hint), then the fresh one gets through
  const b = n.node('b', p.identities.b!, { protection: 'integrity' });
  await n.flush();
  for (let i = 0; i < 31; i++) {
    await n.advance(1000);
    await n.flush();
  }
  assert.deepEqual(texts(b), ['one', 'two', 'three']);
  assert.equal(b.env.counters.handshakes.completed, 1);
  assert.deepEqual(await Promise.all(sends), ['sent', 'sent', 'sent']);
  assert.ok(!a.rejects.includes('ERR_STALE'), 'the hinted code never reaches the application');
});

test('[SPEC 5.11, 5.9] a forged staleness hint after the peer accepted the token (its HS_RESP dropped) cannot deliver the early data twice', async () => {
  const p = await pki();
  const n = new PeerNet(p.roots);
  const a = n.node('a', p.identities.a!, { protection: 'integrity', offlineStartMs: 5 * MIN });
  const b = n.node('b', p.identities.b!, { protection: 'integrity' });
  const sends = ['one', 'two'].map((m) => n.send('a', 'b', m));
  const sid = token(n.wire[0]!.bytes).sessionId;
  n.tap = (f) => (f.from === 'b' ? null : undefined); // the intermediary drops b's HS_RESP
  await n.flush();
  assert.deepEqual(texts(b), ['one'], 'the early data arrived with the first token');
  await n.advance(31_000);
  n.wire.length = 0;
  n.tap = undefined;
  n.wire.push({ from: 'b', to: 'a', bytes: forgeHandshakeAlert(sid, 'ERR_STALE') });
  await n.flush(); // a re-initiates under the same session id: b refuses it (session id in use)
  assert.equal(a.env.counters.handshakes.initiated, 2);
  assert.ok(b.rejects.includes('ERR_REPLAY'));
  await n.advance(5 * MIN);
  await n.flush();
  assert.deepEqual(texts(b), ['one'], 'never delivered twice');
  // the first was handed over (inside the token); the second never left and is reported, with a code of our own
  assert.deepEqual(await Promise.all(sends), ['sent', 'ERR_TIMEOUT']);
});

test('[SPEC 5.11, 5.9] the HS_RESP to the replaced token, late rather than lost, still completes the handshake: each message once', async () => {
  const p = await pki();
  const n = new PeerNet(p.roots);
  const a = n.node('a', p.identities.a!, { protection: 'integrity', offlineStartMs: 5 * MIN });
  const b = n.node('b', p.identities.b!, { protection: 'integrity' });
  const sends = ['one', 'two', 'three'].map((m) => n.send('a', 'b', m));
  const sid = token(n.wire[0]!.bytes).sessionId;
  await n.deliver(n.wire.shift()!); // b accepts the first token; its HS_RESP waits at the broker
  const late = n.wire.splice(0).find((f) => f.from === 'b')!;
  await n.advance(31_000);
  n.wire.length = 0; // a's re-sends
  await n.deliver({ from: 'b', to: 'a', bytes: forgeHandshakeAlert(sid, 'ERR_STALE') });
  assert.equal(a.env.counters.handshakes.initiated, 2, 'a fresh token (same session id)');
  await n.flush(); // b refuses it: the session id is in use
  assert.ok(b.rejects.includes('ERR_REPLAY'));
  await n.deliver(late);
  await n.flush();
  assert.deepEqual(texts(b), ['one', 'two', 'three'], 'each once');
  assert.equal(a.env.counters.handshakes.completed, 1);
  assert.deepEqual(await Promise.all(sends), ['sent', 'sent', 'sent']);
  void n.send('b', 'a', 'reply');
  await n.flush();
  assert.deepEqual(texts(a), ['reply']);
});

test('[SPEC 5.11, 3.6] other hints keep their rule: a forged ERR_BAD_SIGNATURE ends an offline-tolerant handshake with ERR_PEER_REFUSED, never the hinted code', async () => {
  const p = await pki();
  const n = new PeerNet(p.roots);
  const a = n.node('a', p.identities.a!, { offlineStartMs: 5 * MIN });
  const r = n.send('a', 'b', 'x');
  const sid = token(n.wire[0]!.bytes).sessionId;
  n.wire.length = 0;
  n.wire.push({ from: 'b', to: 'a', bytes: forgeHandshakeAlert(sid, 'ERR_BAD_SIGNATURE') });
  await n.flush();
  await n.advance(2001);
  assert.equal(await r, 'ERR_PEER_REFUSED');
  assert.ok(!a.rejects.includes('ERR_BAD_SIGNATURE'));
});

type Step =
  | { readonly t: 'advance'; readonly ms: number }
  | { readonly t: 'forge' }
  | { readonly t: 'deliver' }
  | { readonly t: 'drop' }
  | { readonly t: 'dup' }
  | { readonly t: 'start' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40_000 }) }),
  fc.constant({ t: 'forge' as const }),
  fc.constant({ t: 'deliver' as const }),
  fc.constant({ t: 'drop' as const }),
  fc.constant({ t: 'dup' as const }),
  fc.constant({ t: 'start' as const }),
);

test('[SPEC 5.11, 3.6] property: whatever the broker stores, drops, duplicates or forges, and whenever the peer starts, each message is delivered at most once and in order, restarts stay bounded, every send settles, and without losses a peer that starts in time gets all three', async () => {
  const p = await pki();
  const OFFLINE = 5 * MIN;
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('integrity' as const, 'confidentiality' as const),
      fc.array(step, { maxLength: 30 }),
      async (protection, steps) => {
        const n = new PeerNet(p.roots);
        const t0 = n.now;
        const a = n.node('a', p.identities.a!, { protection, offlineStartMs: OFFLINE });
        let b: NetNode | undefined;
        let startedAt = Infinity;
        let dropped = false;
        const sends = ['one', 'two', 'three'].map((m) => n.send('a', 'b', m));
        const sid = token(n.wire[0]!.bytes).sessionId;
        // the broker keeps each direction's order (a storing broker does); frames to b wait until b has started
        const next = (): number => n.wire.findIndex((f) => f.to === 'a' || b !== undefined);
        const start = (): void => {
          if (b) return;
          b = n.node('b', p.identities.b!, { protection });
          startedAt = n.now;
        };
        for (const s of steps) {
          const i = next();
          if (s.t === 'advance') await n.advance(s.ms);
          else if (s.t === 'forge') await n.deliver({ from: 'b', to: 'a', bytes: forgeHandshakeAlert(sid, 'ERR_STALE') });
          else if (s.t === 'start') start();
          else if (i >= 0) {
            const [f] = n.wire.splice(i, 1);
            if (s.t === 'deliver') await n.deliver(f!);
            else if (s.t === 'dup')
              n.wire.splice(i, 0, f!, f!); // a redelivery, in place (no reordering)
            else dropped = true;
          }
        }
        start();
        for (let k = 0; k < 100; k++) {
          await n.flush();
          await n.advance(5000);
        }
        await n.flush();
        const got = texts(b!);
        assert.equal(new Set(got).size, got.length, `no duplicate: ${got}`);
        assert.deepEqual(
          got,
          ['one', 'two', 'three'].filter((m) => got.includes(m)),
          'in order',
        );
        assert.ok(
          a.env.counters.handshakes.initiated <= 2 + Math.ceil(OFFLINE / 30_000),
          `restarts bounded: ${a.env.counters.handshakes.initiated}`,
        );
        assert.ok(!a.rejects.includes('ERR_STALE'), 'the hinted code never reaches the application');
        const outcomes = await Promise.all(sends); // every send settled
        if (!dropped && startedAt - t0 <= OFFLINE - 60_000) {
          assert.deepEqual(got, ['one', 'two', 'three'], `liveness (b started at +${(startedAt - t0) / 1000} s)`);
          assert.deepEqual(outcomes, ['sent', 'sent', 'sent']);
        }
      },
    ),
    { numRuns: 150 },
  );
});
