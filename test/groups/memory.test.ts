import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utf8 } from '../../src/bytes/index.js';
import { isGroupFrame } from '../../src/codec/group.js';
import { cast, text, until } from '../support/endpoints.js';
import { rejectsWith } from '../support/pki.js';
import { createMemoryHub } from '../../src/bindings/memory.js';
import { Registry } from 'prom-client';

const hub = createMemoryHub();

const isGroupTopic = (t: string): boolean => t.startsWith('memory/~g/');

test('[SPEC 13.1, 13.3, 13.9] one publisher, three members: each message sealed once, one hub message, delivered once to each', async () => {
  const c = await cast(['der', 'scada', 'hist', 'ana'], { metrics: { registry: new Registry() } });
  let groupMessages = 0;
  c.hub.tap((f) => {
    if (isGroupTopic(f.topic)) groupMessages++;
  });
  try {
    const g = await c.eps.der!.group('telemetry', { members: ['scada', 'hist', 'ana'] });
    await Promise.all(['scada', 'hist', 'ana'].map((id) => c.eps[id]!.join('der', 'telemetry')));
    assert.deepEqual(g.members(), ['ana', 'hist', 'scada']);
    for (let i = 0; i < 5; i++) await g.publish(utf8(`m${i}`));
    await until(() => ['scada', 'hist', 'ana'].every((id) => c.inbox[id]!.length === 5), 5000, 'group deliveries');
    await c.hub.drain();
    assert.equal(groupMessages, 5, 'one hub message per publish');
    for (const id of ['scada', 'hist', 'ana']) {
      assert.deepEqual(c.inbox[id]!.map(text), ['m0', 'm1', 'm2', 'm3', 'm4']);
      assert.ok(c.inbox[id]!.every((m) => m.from === 'der' && m.group === 'telemetry' && m.roles.includes('VIEWER')));
      assert.equal(c.eps[id]!.stats().groups.received, 5);
    }
    assert.equal(c.eps.der!.stats().groups.sent, 5);
    // and as a Prometheus counter
    const m = await c.eps.der!.metrics();
    assert.match(m, /hopsafe_group_frames_total\{[^}]*outcome="sent"[^}]*\} 5/);
    assert.match(await c.eps.scada!.metrics(), /hopsafe_group_frames_total\{[^}]*outcome="received"[^}]*\} 5/);
    // GroupControl never reaches the application, nor its counters.
    assert.equal(c.inbox.der!.length, 0);
    assert.equal(c.eps.der!.stats().sent, 0);
  } finally {
    await c.close();
  }
});

test('[SPEC 13.1, 13.7] join: allow-list by id and by role; anyone else ERR_FORBIDDEN; leave', async () => {
  const c = await cast(['der', 'op', 'viewer', 'eve'], {
    roles: { op: ['OPERATOR'], viewer: ['VIEWER'], eve: ['VIEWER'], der: ['VIEWER'] },
  });
  try {
    const g = await c.eps.der!.group('t', { members: ['viewer'], roles: ['OPERATOR'] });
    await c.eps.op!.join('der', 't');
    await c.eps.viewer!.join('der', 't');
    await rejectsWith(c.eps.eve!.join('der', 't'), 'ERR_FORBIDDEN', 'not on the allow-list');
    await rejectsWith(c.eps.eve!.join('der', 'no-such-group'), 'ERR_FORBIDDEN', 'unknown group');
    assert.deepEqual(g.members(), ['op', 'viewer']);
    await c.eps.viewer!.leave('der', 't');
    await until(() => g.members().length === 1, 2000, 'leave');
    await g.publish(utf8('after leave'));
    await until(() => c.inbox.op!.length === 1);
    await c.hub.drain();
    assert.equal(c.inbox.viewer!.length, 0);
    assert.ok(c.rejects.der!.some((r) => r.code === 'ERR_FORBIDDEN' && r.from === 'eve'));
  } finally {
    await c.close();
  }
});

test('[SPEC 13.6, 13.9] confidentiality: a non-member subscribed to the group address reads nothing; in integrity mode it reads but cannot forge', async () => {
  const c = await cast(['der', 'scada']);
  const spy = c.hub.transport();
  await spy.open('spy', () => undefined);
  try {
    for (const protection of ['confidentiality', 'integrity'] as const) {
      const g = await c.eps.der!.group(`g-${protection}`, { members: ['scada'], protection });
      const seen: Uint8Array[] = [];
      await spy.subscribeGroup!(g.address, (b) => void seen.push(b));
      await c.eps.scada!.join('der', `g-${protection}`);
      await g.publish(utf8('secret-setpoint-4711'));
      await until(() => seen.length === 1 && c.inbox.scada!.some((m) => m.group === `g-${protection}`));
      const raw = Buffer.from(seen[0]!).toString('latin1');
      assert.ok(isGroupFrame(seen[0]!));
      assert.equal(
        raw.includes('secret-setpoint-4711'),
        protection === 'integrity',
        `${protection}: plaintext visible only in integrity mode`,
      );
    }
  } finally {
    await spy.close();
    await c.close();
  }
});

test('[SPEC 13.7] removal: the removed member reads nothing later; the others get a new epoch before the next message', async () => {
  const c = await cast(['der', 'a', 'b', 'mallory']);
  const epochs: number[] = [];
  c.hub.tap((f) => {
    if (isGroupTopic(f.topic)) epochs.push((f.bytes[17]! << 8) | f.bytes[18]!);
  });
  try {
    const g = await c.eps.der!.group('t', { members: ['a', 'b', 'mallory'] });
    for (const id of ['a', 'b', 'mallory']) await c.eps[id]!.join('der', 't');
    await g.publish(utf8('before'));
    await until(() => c.inbox.mallory!.length === 1 && c.inbox.a!.length === 1 && c.inbox.b!.length === 1);
    await g.remove('mallory');
    assert.deepEqual(g.members(), ['a', 'b']);
    await g.publish(utf8('after'));
    await until(() => c.inbox.a!.length === 2 && c.inbox.b!.length === 2);
    await c.hub.drain();
    assert.deepEqual(c.inbox.mallory!.map(text), ['before']);
    assert.ok(epochs[1]! > epochs[0]!, `new epoch after removal (${epochs.join(',')})`);
    await rejectsWith(c.eps.mallory!.join('der', 't'), 'ERR_FORBIDDEN', 'removed member cannot re-join');
  } finally {
    await c.close();
  }
});

test('[SPEC 13.7] a new member gets a fresh epoch once something was sealed (it cannot read the past)', async () => {
  const c = await cast(['der', 'a', 'late']);
  const epochs: number[] = [];
  c.hub.tap((f) => {
    if (isGroupTopic(f.topic)) epochs.push((f.bytes[17]! << 8) | f.bytes[18]!);
  });
  try {
    const g = await c.eps.der!.group('t', { members: ['a', 'late'] });
    await c.eps.a!.join('der', 't');
    await g.publish(utf8('one'));
    await c.eps.late!.join('der', 't');
    await g.publish(utf8('two'));
    await until(() => c.inbox.a!.length === 2 && c.inbox.late!.length === 1);
    assert.deepEqual(c.inbox.late!.map(text), ['two']);
    assert.deepEqual(epochs, [0, 1]);
  } finally {
    await c.close();
  }
});

test('[SPEC 13.6, 7.4] a broker duplicate reaches the application once', async () => {
  const c = await cast(['der', 'a']);
  c.hub.tap((f) => (isGroupTopic(f.topic) ? [f.bytes, f.bytes, f.bytes] : undefined));
  try {
    const g = await c.eps.der!.group('t', { members: ['a'] });
    await c.eps.a!.join('der', 't');
    await g.publish(utf8('x'));
    await until(() => c.rejects.a!.filter((r) => r.code === 'ERR_REPLAY').length === 2);
    assert.equal(c.inbox.a!.length, 1);
    assert.equal(c.eps.a!.stats().groups.rejected, 2);
  } finally {
    await c.close();
  }
});

test('[SPEC 10.5, 13.7] a member whose certificate is revoked (updateTrust) is removed: new epoch for the others', async () => {
  const c = await cast(['der', 'a', 'b']);
  try {
    const g = await c.eps.der!.group('t', { members: ['a', 'b'] });
    await c.eps.a!.join('der', 't');
    await c.eps.b!.join('der', 't');
    await g.publish(utf8('1'));
    await until(() => c.inbox.a!.length === 1 && c.inbox.b!.length === 1);
    const crl = c.pki.revoke('b');
    await c.eps.der!.updateTrust({ crls: [crl] });
    await until(() => g.members().length === 1, 2000, 'revoked member dropped');
    assert.deepEqual(g.members(), ['a']);
    await g.publish(utf8('2'));
    await until(() => c.inbox.a!.length === 2);
    await c.hub.drain();
    assert.equal(c.inbox.b!.length, 1);
  } finally {
    await c.close();
  }
});

test('[SPEC 13.1, 13.7, 10.4] a role that ceases to be valid removes its member before the next message', async () => {
  let now = Date.now();
  const c = await cast(['der', 'op', 'eng'], {
    clock: () => now,
    roles: {
      der: ['VIEWER'],
      op: [{ role: 'OPERATOR', notBefore: new Date(now - 60_000), notAfter: new Date(now + 3_600_000) }],
      eng: ['OPERATOR'],
    },
  });
  try {
    const g = await c.eps.der!.group('setpoints', { roles: ['OPERATOR'] });
    await c.eps.op!.join('der', 'setpoints');
    await c.eps.eng!.join('der', 'setpoints');
    await g.publish(utf8('while valid'));
    await until(() => c.inbox.op!.length === 1 && c.inbox.eng!.length === 1);
    now += 2 * 3_600_000; // op's OPERATOR role has expired
    await g.publish(utf8('after expiry'));
    await until(() => c.inbox.eng!.length === 2);
    await c.hub.drain();
    assert.deepEqual(c.inbox.op!.map(text), ['while valid']);
    assert.deepEqual(g.members(), ['eng']);
  } finally {
    await c.close();
  }
});

test('[SPEC 13.9] a transport without group addresses (e.g. a custom one) carries no groups: group() and join() are ERR_UNSUPPORTED', async () => {
  const c = await cast(['der', 'a'], {
    transport: () => {
      // the hub's transport stripped of its group methods (a binding without group addresses)
      const { subscribeGroup: _s, unsubscribeGroup: _u, publishGroup: _p, ...pairwiseOnly } = hub.transport();
      return pairwiseOnly;
    },
  });
  try {
    await rejectsWith(c.eps.der!.group('t', { members: ['a'] }), 'ERR_UNSUPPORTED');
    await rejectsWith(c.eps.a!.join('der', 't'), 'ERR_UNSUPPORTED');
    // pairwise still works
    await c.eps.der!.send('a', utf8('pairwise'));
    await until(() => c.inbox.a!.length === 1);
  } finally {
    await c.close();
  }
});
