/**
 * [SPEC 5.10] A deadline far away (an established session's end) gets no timer of its own: one sweep arms it once it
 * is near (src/endpoint/endpoint.ts, FAR_MS). The session still ends on time. setInterval (the sweep) is mocked;
 * setTimeout and the memory hub run for real; the endpoints' clock is a variable.
 */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { cast, until } from '../support/endpoints.js';
import type { SessionClosedEvent } from '../../src/endpoint/events.js';
import { utf8 } from '../../src/bytes/index.js';

test('[SPEC 5.10] a session 90 s from its end holds no timer, and the sweep still ends it on time', async () => {
  let now = Date.now();
  const t0 = now;
  const c = await cast(['a', 'b'], { clock: () => now, maxSessionLifetimeMs: 90_000 });
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const closed: SessionClosedEvent[] = [];
    c.eps.b!.on('session-closed', (e) => closed.push(e));
    await c.eps.a!.send('b', utf8('x'));
    await until(() => c.inbox.b!.length === 1);
    // b's ACK goes out after acks.delayMs (a near, real timer): the clock moves past it; then only the session's end
    // is left.
    now = t0 + 1000;
    await until(() => (c.eps.b as unknown as { far: Set<unknown> }).far.size === 1, 5000, 'b: the far deadline listed');
    const slot = (c.eps.b as unknown as { peers: Map<string, { timer: unknown }> }).peers.get('a');
    assert.equal(slot?.timer, undefined, 'no Timeout of its own while the end is far');
    now = t0 + 20_000;
    mock.timers.tick(10_000); // a sweep: still more than 60 s away
    assert.equal(slot?.timer, undefined);
    assert.equal(closed.length, 0);
    now = t0 + 89_990;
    mock.timers.tick(10_000); // within 60 s: its own timer is armed (10 ms)
    assert.notEqual(slot?.timer, undefined, 'armed once near');
    now = t0 + 90_001;
    await until(() => closed.length === 1, 5000, 'session-closed');
    assert.equal(closed[0]?.reason, 'ERR_SESSION_EXPIRED');
    assert.equal((c.eps.b as unknown as { far: Set<unknown> }).far.size, 0);
  } finally {
    mock.timers.reset();
    await c.close();
  }
});
