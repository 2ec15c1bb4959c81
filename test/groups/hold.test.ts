/**
 * [SPEC 13.6, 13.7] A group frame that overtakes its epoch's key (which travels over the pairwise session) is held by
 * the member, bounded, and delivered once the key arrives; `publish` does not wait for key acknowledgements unless
 * `keyWaitMs` asks it to.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { utf8 } from '../../src/bytes/index.js';
import { cast, text, until } from '../support/endpoints.js';
import { lateKeys } from '../support/late-keys.js';

test('[SPEC 13.6, 13.7] a frame that overtakes its key is held and delivered once the key arrives; publish does not wait for the acknowledgement', async () => {
  const late = lateKeys();
  const c = await cast(['der', 'a', 'b'], { transport: late.transport });
  try {
    const g = await c.eps.der!.group('t', { members: ['a', 'b'] });
    await c.eps.a!.join('der', 't');
    await c.eps.b!.join('der', 't');
    await g.publish(utf8('m0'));
    await until(() => c.inbox.a!.length === 1 && c.inbox.b!.length === 1);
    late.ctl.holding = true;
    const t0 = Date.now();
    await g.remove('b'); // a new epoch: its key to a is late
    await g.publish(utf8('m1'));
    await g.publish(utf8('m2'));
    assert.ok(Date.now() - t0 < 1000, 'publish did not wait for the acknowledgement of the key');
    await until(() => c.eps.a!.stats().groups.held === 2, 3000, 'a holds both frames');
    assert.equal(late.withheld(), 1, 'the key is still on its way');
    assert.deepEqual(c.inbox.a!.map(text), ['m0']);
    await late.release();
    await until(() => c.inbox.a!.length === 3, 3000, 'held frames delivered');
    assert.deepEqual(c.inbox.a!.map(text), ['m0', 'm1', 'm2']);
    const s = c.eps.a!.stats().groups;
    assert.deepEqual(
      { held: s.held, dropped: s.dropped, received: s.received, rejected: s.rejected },
      { held: 2, dropped: 0, received: 3, rejected: 0 },
    );
    assert.deepEqual(c.rejects.a!, []);
    await g.publish(utf8('m3'));
    await until(() => c.inbox.a!.length === 4);
  } finally {
    await c.close();
  }
});

test('[SPEC 13.6] past the per-group bound or the deadline, held frames are dropped silently and counted; the group goes on', async () => {
  const late = lateKeys();
  const c = await cast(['der', 'a', 'b'], { transport: late.transport, groupHold: { frames: 2, ms: 1500 } });
  try {
    const g = await c.eps.der!.group('t', { members: ['a', 'b'] });
    await c.eps.a!.join('der', 't');
    await c.eps.b!.join('der', 't');
    late.ctl.holding = true;
    await g.remove('b');
    for (let i = 0; i < 5; i++) await g.publish(utf8(`early ${i}`));
    await until(() => c.eps.a!.stats().groups.held + c.eps.a!.stats().groups.dropped >= 5, 3000, 'all five seen');
    assert.deepEqual([c.eps.a!.stats().groups.held, c.eps.a!.stats().groups.dropped], [2, 3]);
    assert.ok(c.eps.a!.queues().heldBytes > 0, 'the held frames count against maxHeldBytes');
    // the deadline passes before the key comes: dropped without traffic, memory given back
    await until(() => c.eps.a!.stats().groups.dropped === 5, 5000, 'deadline');
    assert.equal(c.eps.a!.queues().heldBytes, 0);
    await late.release();
    await g.publish(utf8('after'));
    await until(() => c.inbox.a!.length === 1, 3000);
    await sleep(50);
    assert.deepEqual(c.inbox.a!.map(text), ['after']);
    assert.deepEqual(c.rejects.a!, [], 'nothing the application sees as an error');
  } finally {
    await c.close();
  }
});

test('[SPEC 13.7] keyWaitMs > 0: publish waits (bounded) for the acknowledgements of a new epoch key', async () => {
  const late = lateKeys();
  const c = await cast(['der', 'a', 'b'], { transport: late.transport });
  try {
    const g = await c.eps.der!.group('t', { members: ['a', 'b'], keyWaitMs: 400 });
    await c.eps.a!.join('der', 't');
    await c.eps.b!.join('der', 't');
    await g.publish(utf8('m0'));
    late.ctl.holding = true;
    const t0 = Date.now();
    await g.remove('b');
    await g.publish(utf8('m1'));
    assert.ok(Date.now() - t0 >= 350, `waited ${Date.now() - t0} ms for a's acknowledgement`);
    await late.release();
    await until(() => c.inbox.a!.length === 2, 3000);
  } finally {
    await c.close();
  }
});
