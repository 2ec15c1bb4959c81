/**
 * The per-peer machine as `receive(bytes, now)`: issue 14's weaknesses, each at the layer where its rule lives,
 * without a hub, an endpoint or timers. [SPEC 3.6, 5.6, 5.7, 5.8, 5.9, 5.10, 7.2, 7.3, 7.6, 8.7, 8.8]
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestPki, type TestPki } from '../../src/testing/index.js';
import { forgeHandshakeAlert, rewriteClearToken1 } from '../../src/adversary/index.js';
import { decodeSignedClearToken1 } from '../../src/codec/tokens.js';
import { decodeRecordHeader, FrameType, isRecordFrame } from '../../src/codec/frame.js';
import { PeerMachine, statelessReply } from '../../src/session/peer.js';
import { AlertLimiter } from '../../src/session/admission.js';
import { randomBytes } from 'node:crypto';
import { PeerNet, type NetNode } from '../support/peer-net.js';

const DAY = 86_400_000;
let pkiP: Promise<TestPki> | undefined;
const pki = (): Promise<TestPki> =>
  (pkiP ??= createTestPki({ endpoints: [{ id: 'a', roles: ['OPERATOR'] }, { id: 'b', roles: ['VIEWER'] }, { id: 'c' }] }));

async function net(
  o: { a?: Parameters<PeerNet['node']>[2]; b?: Parameters<PeerNet['node']>[2]; now?: number } = {},
): Promise<{ n: PeerNet; a: NetNode; b: NetNode; p: TestPki }> {
  const p = await pki();
  const n = new PeerNet(p.roots, o.now);
  return { n, a: n.node('a', p.identities.a!, o.a), b: n.node('b', p.identities.b!, o.b), p };
}

const hsInits = (n: PeerNet): Uint8Array[] => n.wire.filter((f) => f.bytes[0] === 0x11).map((f) => f.bytes);
const texts = (x: NetNode): string[] => x.delivered.map((d) => d.text);

test('[SPEC 5.7] forged sender ids leave no state: a refused HS_INIT leaves the machine idle, a record from an unknown sender is answered statelessly', async () => {
  const { n, b } = await net();
  const m = new PeerMachine('forged-1', b.env);
  assert.throws(() => m.screenInit(Uint8Array.of(0x11, 0x30, 0x00), n.now));
  assert.equal(m.idle, true);
  const alerts = new AlertLimiter({ perSecond: 100 }, n.now);
  const record = Uint8Array.of(0x13, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
  const r = statelessReply('forged-2', record, n.now, alerts, b.env.index);
  assert.equal(r.error.code, 'ERR_UNKNOWN_SESSION');
  assert.ok(r.transmit, 'a hint is owed');
  // [SPEC 3.6] the same (peer, session, code) is not answered twice in a second
  assert.equal(statelessReply('forged-2', record, n.now, alerts, b.env.index).transmit, undefined);
});

test('[SPEC 7.3] held frames are bounded in bytes per session and in total: frames of the next epoch that cannot be verified yet', async () => {
  const { n, a, b } = await net({ b: { session: { maxEarlyBytes: 4096, maxEarlyFrames: 16 }, maxHeldBytes: 6000 } });
  void n.send('a', 'b', 'hello');
  await n.flush();
  assert.deepEqual(texts(b), ['hello']);
  const sa = a.machine('b').current!;
  sa.keyUpdate(n.now); // the KEY_UPDATE is "lost": never put on the wire
  const big = sa.seal(new Uint8Array(3000));
  const big2 = sa.seal(new Uint8Array(3000));
  const mb = b.machine('a');
  await n.deliver({ from: 'a', to: 'b', bytes: big });
  await n.deliver({ from: 'a', to: 'b', bytes: big2 });
  assert.equal(mb.current!.heldBytes, big.length, 'the second frame would exceed maxEarlyBytes');
  assert.equal(b.env.ctx.holdBudget!.bytes, big.length, 'counted in the endpoint-wide budget');
  assert.ok(b.rejects.includes('ERR_UNKNOWN_EPOCH'));
  // [SPEC 7.3] the refusal asks a for its KEY_UPDATE again; the held frame is then opened and the budget returned
  await n.flush();
  assert.equal(b.delivered.length, 2);
  assert.equal(b.env.ctx.holdBudget!.bytes, 0);
});

test('[SPEC 5.6] a token stamped before the responder started is refused (ERR_STALE): a capture replayed to a restarted responder delivers nothing', async () => {
  const p = await pki();
  const n = new PeerNet(p.roots);
  const a = n.node('a', p.identities.a!, { protection: 'integrity' });
  const b1 = n.node('b', p.identities.b!, { protection: 'integrity' });
  void n.send('a', 'b', 'open valve 7');
  const captured = hsInits(n)[0]!;
  await n.flush();
  assert.deepEqual(texts(b1), ['open valve 7']);
  // b restarts 2 s later: a new process, an empty replay cache
  n.now += 2000;
  const b2 = n.node('b', p.identities.b!, { protection: 'integrity' });
  await n.deliver({ from: 'a', to: 'b', bytes: captured });
  assert.deepEqual(texts(b2), [], 'the early data is not delivered a second time');
  assert.ok(b2.rejects.includes('ERR_STALE'));
  assert.equal(b2.machine('a').current, undefined, 'no session');
  void a;
});

test('[SPEC 5.9] a replayed HS_INIT never replaces a live session nor delivers twice (even when the cache cannot tell)', async () => {
  // `since: -Infinity`: a responder whose clock jumped — the random cache no longer knows the capture
  const { n, a, b } = await net({ a: { protection: 'integrity' }, b: { protection: 'integrity', since: -Infinity } });
  void n.send('a', 'b', 'cmd-1');
  const captured = hsInits(n)[0]!;
  await n.flush();
  const live = b.machine('a').current!;
  (b.env.ctx.replayCache as unknown as { entries: Map<string, number> }).entries.clear();
  await n.deliver({ from: 'a', to: 'b', bytes: captured });
  assert.equal(b.machine('a').current, live, 'the live session stays');
  assert.deepEqual(texts(b), ['cmd-1'], 'the early data of the replay is held, not delivered');
  n.wire.length = 0; // the HS_RESP to the replay reaches nobody who can answer it
  void n.send('b', 'a', 'reply on the live session');
  await n.flush();
  assert.deepEqual(texts(a), ['reply on the live session']);
  await n.advance(11_000); // the candidate was never confirmed: discarded with its early data
  void n.send('a', 'b', 'cmd-2');
  await n.flush();
  assert.deepEqual(texts(b), ['cmd-1', 'cmd-2']);
});

test('[SPEC 5.9] a genuine re-handshake replaces the live session once the initiator answers the KEY_UPDATE in HS_RESP; early data delivered once', async () => {
  const { n, a, b } = await net({ a: { protection: 'integrity' }, b: { protection: 'integrity' } });
  void n.send('a', 'b', 'first');
  await n.flush();
  const old = b.machine('a').current!;
  // a restarts: a new node, no state; it opens again with early data
  const a2 = n.node('a', (await pki()).identities.a!, { protection: 'integrity' });
  void n.send('a', 'b', 'after restart');
  await n.flush();
  assert.notEqual(b.machine('a').current, old, 'replaced after the proof');
  assert.deepEqual(texts(b), ['first', 'after restart']);
  void n.send('b', 'a', 'to the new a');
  await n.flush();
  assert.deepEqual(texts(a2), ['to the new a']);
  void a;
});

test('[SPEC 5.10] a session ends at the earliest notAfter on the peer path; the next send needs a new handshake', async () => {
  const p = await pki();
  const short = p.issue({ id: 'a', notAfter: new Date(Date.now() + 2 * DAY) });
  const n = new PeerNet(p.roots);
  const a = n.node('a', short);
  const b = n.node('b', p.identities.b!);
  void n.send('a', 'b', 'while valid');
  await n.flush();
  assert.ok(b.machine('a').current);
  await n.advance(3 * DAY);
  assert.equal(b.machine('a').current, undefined);
  assert.ok(b.events.some((e) => e.type === 'session-closed' && e.reason === 'ERR_CERT_EXPIRED'));
  const late = n.send('b', 'a', 'after expiry');
  await n.flush();
  await n.advance(11_000);
  // [SPEC 5.4] a response that fails verification leaves the handshake pending until it times out
  assert.equal(await late, 'ERR_TIMEOUT');
  assert.ok(b.rejects.includes('ERR_CERT_EXPIRED'));
  assert.deepEqual(texts(a), [], 'the expired peer cannot authenticate again');
  assert.ok(b.machine('a').current === undefined);
});

test('[SPEC 5.10] maxSessionLifetimeMs bounds any session', async () => {
  const { n, b } = await net({ b: { maxSessionLifetimeMs: 60_000 } });
  void n.send('a', 'b', 'x');
  await n.flush();
  await n.advance(61_000);
  assert.ok(b.events.some((e) => e.type === 'session-closed' && e.reason === 'ERR_SESSION_EXPIRED'));
});

test('[SPEC 10.4, 8.7] expired roles are not used: a role past its notAfter is neither delivered nor authorized', async () => {
  const p = await pki();
  const opId = p.issue({
    id: 'a',
    roles: [{ role: 'OPERATOR', notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + DAY) }],
  });
  const n = new PeerNet(p.roots);
  n.node('a', opId);
  const seen: string[][] = [];
  const b = n.node('b', p.identities.b!, {
    authorize: (c) => (seen.push(c.roles.map((r) => r.role)), c.direction === 'send' || c.roles.some((r) => r.role === 'OPERATOR')),
  });
  void n.send('a', 'b', 'setpoint while OPERATOR');
  await n.flush();
  assert.deepEqual(
    b.delivered.map((d) => d.roles),
    [['OPERATOR']],
  );
  await n.advance(2 * DAY);
  void n.send('a', 'b', 'setpoint after the role expired');
  await n.flush();
  assert.deepEqual(texts(b), ['setpoint while OPERATOR']);
  assert.ok(b.rejects.includes('ERR_FORBIDDEN'));
  assert.deepEqual(seen.at(-1), []);
});

test('[SPEC 5.8, 5.9] simultaneous open with a delayed HS_INIT delivers every payload once and loses none', async () => {
  const { n, a, b } = await net({ a: { protection: 'integrity' }, b: { protection: 'integrity' } });
  void n.send('a', 'b', 'from a');
  void n.send('b', 'a', 'from b');
  // the broker holds b's HS_INIT until a's handshake completed
  const heldB = n.wire.findIndex((f) => f.from === 'b');
  const [held] = n.wire.splice(heldB, 1);
  await n.flush();
  n.wire.push(held!);
  await n.flush();
  void n.send('a', 'b', 'next from a');
  void n.send('b', 'a', 'next from b');
  await n.flush();
  assert.deepEqual(texts(b), ['from a', 'next from a']);
  assert.deepEqual(texts(a), ['from b', 'next from b']);
});

test('[SPEC 5.9, 8.1] a session id reused by another (trusted) peer does not touch the victim', async () => {
  const { n, a, b, p } = await net();
  void n.send('a', 'b', 'victim 1');
  await n.flush();
  const sid = b.machine('a').current!.id;
  let drawn = 0;
  n.node('c', p.identities.c!, { rng: (len) => (len === 8 && drawn++ === 0 ? sid.slice() : new Uint8Array(randomBytes(len))) });
  void n.send('c', 'b', 'from c with the same id');
  await n.flush();
  assert.ok(texts(b).includes('from c with the same id'));
  void n.send('a', 'b', 'victim 2');
  await n.flush();
  assert.deepEqual(
    texts(b).filter((t) => t.startsWith('victim')),
    ['victim 1', 'victim 2'],
  );
  assert.ok(!b.rejects.includes('ERR_WRONG_PEER'));
  void a;
});

test('[SPEC 3.6, 8.8] a forged HS_ALERT for a live session costs a protected probe, not a handshake', async () => {
  const { n, a, b } = await net();
  void n.send('a', 'b', 'x');
  await n.flush();
  const sid = a.machine('b').current!.id;
  const before = a.env.counters.handshakes.initiated;
  for (let i = 0; i < 5; i++) {
    n.wire.push({ from: 'b', to: 'a', bytes: forgeHandshakeAlert(sid, 'ERR_UNKNOWN_SESSION') });
    await n.flush();
    await n.advance(1500);
  }
  assert.equal(a.env.counters.handshakes.initiated, before, 'no handshake: b answered every probe');
  assert.ok(a.env.counters.keyUpdates.sent >= 1 && b.env.counters.keyUpdates.sent >= 1, 'probe and answer are key updates');
  assert.ok(!a.rejects.includes('ERR_UNKNOWN_SESSION'), 'nothing reported to the application');
  // without an answer, the probe ends in a re-handshake
  n.wire.push({ from: 'b', to: 'a', bytes: forgeHandshakeAlert(sid, 'ERR_UNKNOWN_SESSION') });
  n.tap = (f) => (f.from === 'a' ? null : undefined);
  await n.flush();
  await n.advance(1500);
  assert.equal(a.env.counters.handshakes.initiated, before + 1);
  assert.ok(a.rejects.includes('ERR_UNKNOWN_SESSION'));
});

test('[SPEC 7.6, 3.6] acknowledged messages are never reported unconfirmed after a forged hint', async () => {
  const { n, a } = await net();
  void n.send('a', 'b', 'open');
  await n.flush();
  const sid = a.machine('b').current!.id;
  const outcomes = Array.from({ length: 20 }, (_, i) => n.send('a', 'b', `cmd-${i}`, true));
  await n.flush(); // b accepted all 20; its ACK is delayed
  n.wire.push({ from: 'b', to: 'a', bytes: forgeHandshakeAlert(sid, 'ERR_UNKNOWN_SESSION') });
  await n.flush();
  await n.advance(30); // b's delayed ACK leaves
  await n.flush();
  assert.deepEqual(await Promise.all(outcomes), Array(20).fill('confirmed'));
  assert.ok(!a.outcomes.some((o) => o.code !== undefined));
});

test('[SPEC 3.6] a forged hint never selects the code the application sees', async () => {
  const { n, a } = await net();
  const r = n.send('a', 'b', 'first');
  const init = hsInits(n)[0]!;
  const sid = decodeSignedClearToken1(init.subarray(1)).token.sessionId;
  n.wire.length = 0;
  n.wire.push({ from: 'b', to: 'a', bytes: forgeHandshakeAlert(sid, 'ERR_CERT_REVOKED') });
  await n.flush();
  assert.ok(a.machine('b').handshaking, 'a hint does not end the handshake at once (a genuine response may still come)');
  await n.advance(2001);
  assert.equal(await r, 'ERR_PEER_REFUSED');
  assert.ok(!a.rejects.includes('ERR_CERT_REVOKED'));
});

test("[SPEC 5.7] a genuine peer's HS_INIT is checked at arrival under a flood of unsigned ones under its id", async () => {
  const { n, a, b } = await net();
  void n.send('a', 'b', 'earlier session');
  await n.flush();
  // a restarts and re-opens while 200 forged HS_INITs (a's certificate, no valid signature) arrive first
  const a2 = n.node('a', (await pki()).identities.a!);
  void a;
  void n.send('a', 'b', 'reconnected');
  const genuine = n.wire.pop()!;
  for (let i = 0; i < 200; i++)
    n.wire.push({
      from: 'a',
      to: 'b',
      bytes: rewriteClearToken1(genuine.bytes, (t) => ({ ...t, random: new Uint8Array(randomBytes(16)) })),
    });
  n.wire.push(genuine);
  await n.flush();
  assert.equal(b.rejects.filter((c) => c === 'ERR_BAD_SIGNATURE').length, 200, 'each refused at arrival, by one signature check');
  assert.ok(!b.rejects.includes('ERR_HANDSHAKE_LIMIT'), 'the forged ones took no token');
  assert.ok(texts(b).includes('reconnected'), JSON.stringify(b.rejects.filter((c) => c !== 'ERR_BAD_SIGNATURE')));
  void a2;
});

test('[SPEC 8.7, 7.6] a refused message is never confirmed, whatever refused it (a classify hook that throws)', async () => {
  const { n, b } = await net({
    b: {
      authorize: (c) => {
        if (new TextDecoder().decode(c.data) === 'bad') throw new Error('classify failed');
        return true;
      },
    },
  });
  const r = [n.send('a', 'b', 'ok-1', true), n.send('a', 'b', 'bad', true), n.send('a', 'b', 'ok-2', true)];
  await n.flush();
  await n.advance(30);
  await n.flush();
  assert.deepEqual(await Promise.all(r), ['confirmed', 'ERR_FORBIDDEN', 'confirmed']);
  assert.deepEqual(texts(b), ['ok-1', 'ok-2']);
});

test('[SPEC 8.7, 7.6] refused early data is never confirmed: the handshake that carried it is refused', async () => {
  const refuseBad = (c: { data: Uint8Array }): boolean => new TextDecoder().decode(c.data) !== 'bad';
  const { n, b } = await net({ a: { protection: 'integrity' }, b: { protection: 'integrity', authorize: refuseBad } });
  const r = n.send('a', 'b', 'bad', true);
  await n.flush();
  await n.advance(2500);
  await n.flush();
  assert.equal(await r, 'ERR_PEER_REFUSED');
  assert.deepEqual(texts(b), []);
  assert.equal(b.machine('a').current, undefined, 'no session from a refused token');
  // The application sends on: the next handshake carries the next message.
  const ok = n.send('a', 'b', 'good', true);
  await n.flush();
  await n.advance(30);
  await n.flush();
  assert.equal(await ok, 'confirmed');
  assert.deepEqual(texts(b), ['good']);
});

test('[SPEC 7.6] a record altered on the way is ERR_NOT_CONFIRMED once the ACKs show the gap for acks.gapMs, not after the 30 s timeout', async () => {
  const { n, b } = await net();
  assert.equal(
    await (async () => {
      const r = n.send('a', 'b', 'one', true);
      await n.flush();
      await n.advance(30);
      await n.flush();
      return r;
    })(),
    'confirmed',
  );
  let data = 0;
  n.tap = (f) => {
    if (f.from !== 'a' || f.bytes[0] !== 0x13) return undefined;
    if (++data !== 1) return undefined;
    const x = f.bytes.slice();
    x[x.length - 1] = (x[x.length - 1] ?? 0) ^ 1; // the broker alters the tag of 'x'
    return x;
  };
  const results = ['x', 'y', 'z'].map((t) => n.send('a', 'b', t, true));
  await n.flush();
  await n.advance(30); // b's ACK: y and z accepted, x not
  await n.flush();
  const state = (p: Promise<string>): Promise<string> => Promise.race([p, new Promise<string>((r) => setImmediate(() => r('pending')))]);
  assert.deepEqual(
    await Promise.all(results.map(state)),
    ['pending', 'confirmed', 'confirmed'],
    'a gap is not a verdict yet: reordering is allowed',
  );
  await n.advance(500); // acks.gapMs
  await n.flush();
  assert.equal(await state(results[0] as Promise<string>), 'ERR_NOT_CONFIRMED');
  assert.deepEqual(texts(b), ['one', 'y', 'z']);
});

test('[SPEC 7.6] a record overtaken on the way but delivered within acks.gapMs is confirmed', async () => {
  const { n, b } = await net();
  const first = n.send('a', 'b', 'one', true);
  await n.flush();
  await n.advance(30);
  await n.flush();
  assert.equal(await first, 'confirmed');
  let held: { from: string; to: string; bytes: Uint8Array } | undefined;
  n.tap = (f) => {
    if (f.from === 'a' && f.bytes[0] === 0x13 && !held) {
      held = f;
      return null; // the broker delays 'x'
    }
    return undefined;
  };
  const results = ['x', 'y'].map((t) => n.send('a', 'b', t, true));
  await n.flush();
  await n.advance(30);
  await n.flush();
  await n.advance(200);
  n.tap = undefined;
  await n.deliver(held!); // 'x' arrives 230 ms late, inside the replay window and before gapMs
  await n.advance(30);
  await n.flush();
  assert.deepEqual(await Promise.all(results), ['confirmed', 'confirmed']);
  assert.deepEqual(texts(b), ['one', 'y', 'x']);
});

test('[SPEC 8.7] ERR_FORBIDDEN names the epoch of the refused record: after a key update the right message is refused', async () => {
  const { n, a, b } = await net({ b: { authorize: (c) => c.direction === 'send' || new TextDecoder().decode(c.data) !== 'refuse me' } });
  const r0 = [n.send('a', 'b', 'e0-0', true), n.send('a', 'b', 'e0-1', true)];
  await n.flush();
  n.apply(a, 'b', a.machine('b').rekey(n.now));
  await n.flush();
  // epoch 1, seq 1 — the same sequence number as e0-1 in epoch 0
  const r1 = [n.send('a', 'b', 'e1-0', true), n.send('a', 'b', 'refuse me', true)];
  await n.flush();
  const alert = b.events.find(
    (e) => e.type === 'transmit' && isRecordFrame(e.frame) && decodeRecordHeader(e.frame).type === FrameType.ALERT,
  );
  assert.ok(alert);
  await n.advance(30);
  await n.flush();
  assert.deepEqual(await Promise.all([...r0, ...r1]), ['confirmed', 'confirmed', 'confirmed', 'ERR_FORBIDDEN']);
});

test('[SPEC 7.5, 7.2] automatic key updates ask for one back', async () => {
  const { n, a, b } = await net({ a: { session: { rekeyAfterMessages: 3 } } });
  for (let i = 0; i < 4; i++) void n.send('a', 'b', `m${i}`);
  await n.flush();
  assert.equal(a.env.counters.keyUpdates.sent, 1);
  assert.equal(b.env.counters.keyUpdates.sent, 1, 'b answered the requested update');
  assert.equal(a.machine('b').current!.receiveEpoch, 1);
});

test('[SPEC 7.2] rekey() while the first handshake is pending updates the keys once the session is up (never silently dropped); with no session and no handshake it is ERR_UNKNOWN_SESSION', async () => {
  const { n, a, b } = await net();
  assert.throws(
    () => new PeerMachine('c', a.env).rekey(n.now),
    (e: Error & { code?: string }) => e.code === 'ERR_UNKNOWN_SESSION',
  );
  const pending = n.send('a', 'b', 'hello'); // HS_INIT sent, not yet delivered
  assert.equal(a.machine('b').current, undefined);
  assert.deepEqual(a.machine('b').rekey(n.now), [], 'nothing to send yet');
  await n.flush();
  await pending;
  assert.equal(a.machine('b').current!.sendEpoch, 1, 'the key update was made when the session was installed');
  assert.equal(b.machine('a').current!.receiveEpoch, 1, 'and the peer took it');
  void n.send('a', 'b', 'after');
  await n.flush();
  assert.deepEqual(texts(b), ['hello', 'after']);
});
