import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { utf8, toHex } from '../../src/bytes/index.js';
import { HopsafeError } from '../../src/errors/index.js';
import { frameType, FrameType } from '../../src/codec/frame.js';
import { cast, text, until } from '../support/endpoints.js';

describe('endpoint over the memory hub', () => {
  for (const protection of ['integrity', 'confidentiality'] as const) {
    test(`[SPEC 8] ${protection}: send opens the session and messages flow both ways`, async () => {
      const c = await cast(['control-center', 'der-1'], { protection, roles: { 'control-center': ['OPERATOR'], 'der-1': ['VIEWER'] } });
      try {
        const seen: string[] = [];
        c.hub.tap((f) => {
          seen.push(toHex(f.bytes));
        });
        await c.eps['der-1']!.send('control-center', utf8('P=4.2MW'));
        await until(() => c.inbox['control-center']!.length === 1);
        const m = c.inbox['control-center']![0]!;
        assert.equal(m.from, 'der-1');
        assert.equal(text(m), 'P=4.2MW');
        assert.deepEqual(m.roles, ['VIEWER']);
        await c.eps['control-center']!.send('der-1', utf8('setpoint P=3.0MW'));
        await until(() => c.inbox['der-1']!.length === 1);
        assert.deepEqual(c.inbox['der-1']![0]!.roles, ['OPERATOR']);
        const plainVisible = seen.some((h) => h.includes(toHex(utf8('setpoint P=3.0MW'))));
        assert.equal(plainVisible, protection === 'integrity');
        // [SPEC 5.3] integrity mode: the first payload rode inside the handshake → 2 frames for 2 messages
        if (protection === 'integrity') assert.equal(seen.length, 3); // HS_INIT(+data), HS_RESP, DATA
        assert.equal(c.eps['der-1']!.stats().sessions, 1);
        assert.equal(c.eps['der-1']!.stats().sent, 1);
        assert.equal(c.eps['control-center']!.stats().received, 1);
      } finally {
        await c.close();
      }
    });
  }

  test('[SPEC 3.4] many queued sends before the handshake all arrive, in order', async () => {
    const c = await cast(['a', 'b']);
    try {
      await Promise.all(Array.from({ length: 50 }, (_, i) => c.eps.a!.send('b', utf8(String(i)))));
      await until(() => c.inbox.b!.length === 50);
      assert.deepEqual(
        c.inbox.b!.map(text),
        Array.from({ length: 50 }, (_, i) => String(i)),
      );
    } finally {
      await c.close();
    }
  });

  test('[SPEC 5.8] simultaneous open from both sides converges on one session and loses nothing', async () => {
    for (const protection of ['integrity', 'confidentiality'] as const) {
      const c = await cast(['alpha', 'beta'], { protection });
      try {
        await Promise.all([c.eps.alpha!.send('beta', utf8('from alpha')), c.eps.beta!.send('alpha', utf8('from beta'))]);
        await until(() => c.inbox.alpha!.length === 1 && c.inbox.beta!.length === 1, 5000, 'both messages');
        assert.equal(text(c.inbox.alpha![0]!), 'from beta');
        assert.equal(text(c.inbox.beta![0]!), 'from alpha');
        await c.hub.drain();
        assert.equal(c.eps.alpha!.sessions().length, 1);
        assert.equal(c.eps.beta!.sessions().length, 1);
      } finally {
        await c.close();
      }
    }
  });

  test('[SPEC 7.4] a frame duplicated by the intermediary reaches the application once', async () => {
    const c = await cast(['a', 'b']);
    try {
      c.hub.tap((f) => (frameType(f.bytes) === FrameType.DATA ? [f.bytes, f.bytes, f.bytes] : undefined));
      for (let i = 0; i < 10; i++) await c.eps.a!.send('b', utf8(`m${i}`));
      await until(() => c.inbox.b!.length >= 10);
      await c.hub.drain();
      assert.equal(c.inbox.b!.length, 10);
      assert.equal(c.eps.b!.stats().rejected.ERR_REPLAY, 20);
    } finally {
      await c.close();
    }
  });

  test('[SPEC 7.1] a tampered frame is rejected as an event, never delivered, never thrown', async () => {
    const c = await cast(['a', 'b']);
    try {
      let n = 0;
      c.hub.tap((f) => {
        if (frameType(f.bytes) !== FrameType.DATA || n++ !== 1) return undefined;
        const x = f.bytes.slice();
        x[x.length - 1] = (x[x.length - 1] as number) ^ 0x80;
        return x;
      });
      for (let i = 0; i < 3; i++) await c.eps.a!.send('b', utf8(`m${i}`));
      await until(() => (c.rejects.b!.length ?? 0) === 1 && c.inbox.b!.length === 2);
      assert.deepEqual(c.inbox.b!.map(text), ['m0', 'm2']);
      assert.equal(c.rejects.b![0]!.code, 'ERR_BAD_MAC');
      assert.equal(c.rejects.b![0]!.from, 'a');
    } finally {
      await c.close();
    }
  });

  test('[SPEC 7.2] rekey from either side in one message; traffic continues', async () => {
    const c = await cast(['a', 'b']);
    try {
      await c.eps.a!.send('b', utf8('before'));
      await until(() => c.inbox.b!.length === 1);
      await c.eps.a!.rekey('b');
      await c.eps.a!.send('b', utf8('after-a'));
      await c.eps.b!.rekey('a');
      await c.eps.b!.send('a', utf8('after-b'));
      await until(() => c.inbox.b!.length === 2 && c.inbox.a!.length === 1);
      await c.hub.drain();
      const sa = c.eps.a!.sessions()[0]!;
      // a.rekey requested b's update too, then b rekeyed again: a sends at 1, receives at 2
      assert.equal(sa.sendEpoch, 2);
      assert.ok(sa.receiveEpoch >= 2);
      assert.equal(c.rejects.a!.length + c.rejects.b!.length, 0);
    } finally {
      await c.close();
    }
  });

  test('[SPEC 7.5] automatic key update after N messages', async () => {
    const c = await cast(['a', 'b'], { session: { rekeyAfterMessages: 10 } });
    try {
      for (let i = 0; i < 35; i++) await c.eps.a!.send('b', utf8(String(i)));
      await until(() => c.inbox.b!.length === 35);
      assert.ok(c.eps.a!.stats().keyUpdates.sent >= 3);
      assert.equal(c.rejects.b!.length, 0);
    } finally {
      await c.close();
    }
  });

  test('[SPEC 8.8] a restarted peer (state lost) is re-established automatically', async () => {
    const c = await cast(['a', 'b']);
    try {
      await c.eps.a!.send('b', utf8('one'));
      await until(() => c.inbox.b!.length === 1);
      // b "restarts": replace it with a fresh endpoint using the same identity
      await c.eps.b!.close();
      const { createEndpoint } = await import('../../src/endpoint/endpoint.js');
      const b2 = await createEndpoint({
        id: 'b',
        identity: c.pki.identities.b!,
        trust: { roots: c.pki.roots },
        transport: c.hub.transport(),
      });
      const got: string[] = [];
      b2.on('message', (m) => got.push(text(m)));
      // a had received b's ERR_CLOSED alert, so its next send opens a new session
      await c.hub.drain();
      await c.eps.a!.send('b', utf8('two'));
      await until(() => got.includes('two'));
      await b2.close();
    } finally {
      await c.close();
    }
  });

  test('[SPEC 8.8] a peer that lost its state without saying so is noticed and re-established', async () => {
    const c = await cast(['a', 'b']);
    try {
      await c.eps.a!.send('b', utf8('one'));
      await until(() => c.inbox.b!.length === 1);
      // b crashes silently: its frames vanish and its replacement knows nothing
      let drop = true;
      c.hub.tap((f) => (drop && f.from === 'b' ? null : undefined));
      await c.eps.b!.close();
      drop = false;
      const { createEndpoint } = await import('../../src/endpoint/endpoint.js');
      const b2 = await createEndpoint({
        id: 'b',
        identity: c.pki.identities.b!,
        trust: { roots: c.pki.roots },
        transport: c.hub.transport(),
      });
      const got: string[] = [];
      b2.on('message', (m) => got.push(text(m)));
      await c.eps.a!.send('b', utf8('lost')); // b2: ERR_UNKNOWN_SESSION → hint → a re-handshakes
      await until(() => c.eps.a!.stats().handshakes.completed === 2, 5000, 're-handshake');
      await c.eps.a!.send('b', utf8('three'));
      await until(() => got.includes('three'));
      await b2.close();
    } finally {
      await c.close();
    }
  });

  test('[SPEC 8.1] invalid ids and oversize payloads are refused at send with clear errors', async () => {
    const c = await cast(['a', 'b']);
    try {
      await assert.rejects(c.eps.a!.send('bad/id', utf8('x')), (e) => e instanceof HopsafeError && e.code === 'ERR_INVALID_ID');
      await assert.rejects(
        c.eps.a!.send('b', new Uint8Array(2 * 1024 * 1024)),
        (e) => e instanceof HopsafeError && e.code === 'ERR_PAYLOAD_TOO_LARGE',
      );
    } finally {
      await c.close();
    }
  });

  test('[SPEC 8.7] authorize hook: refused messages are not delivered and the sender learns ERR_FORBIDDEN', async () => {
    const c = await cast(['cc', 'der'], {
      roles: { cc: ['OPERATOR'], der: ['VIEWER'] },
      perEndpoint: { der: { authorize: (ctx) => ctx.direction === 'send' || ctx.roles.some((r) => r.role === 'OPERATOR') } },
    });
    try {
      await c.eps.cc!.send('der', utf8('setpoint'));
      await until(() => c.inbox.der!.length === 1);
    } finally {
      await c.close();
    }
    const d = await cast(['viewer', 'der'], {
      roles: { viewer: ['VIEWER'], der: ['VIEWER'] },
      perEndpoint: { der: { authorize: (ctx) => ctx.direction === 'send' || ctx.roles.some((r) => r.role === 'OPERATOR') } },
    });
    try {
      await d.eps.viewer!.send('der', utf8('setpoint'));
      await until(
        () => d.rejects.viewer!.some((r) => r.code === 'ERR_FORBIDDEN') && d.rejects.der!.some((r) => r.code === 'ERR_FORBIDDEN'),
      );
      assert.equal(d.inbox.der!.length, 0);
    } finally {
      await d.close();
    }
  });

  test('[SPEC 8] close tells the peer, and further sends fail with ERR_CLOSED', async () => {
    const c = await cast(['a', 'b']);
    await c.eps.a!.send('b', utf8('x'));
    await until(() => c.inbox.b!.length === 1);
    const closed: string[] = [];
    c.eps.b!.on('session-closed', (e) => closed.push(e.reason));
    await c.eps.a!.close();
    await until(() => closed.length === 1);
    assert.deepEqual(closed, ['ERR_CLOSED']);
    await assert.rejects(c.eps.a!.send('b', utf8('y')), (e) => e instanceof HopsafeError && e.code === 'ERR_CLOSED');
    await c.close();
  });
});
