import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utf8 } from '../../src/bytes/index.js';
import { HopsafeError } from '../../src/errors/index.js';
import { cast, text, until } from '../support/endpoints.js';

// The DER's policy, seen from the DER: it may send anything to anyone; it accepts setpoints only from
// OPERATORs and reads from anyone (type "read").
const derPolicy = JSON.stringify({
  default: 'deny',
  rules: [
    { roles: ['*'], direction: 'send' },
    { roles: ['OPERATOR'], direction: 'receive', types: ['setpoint'] },
    { roles: ['*'], direction: 'receive', types: ['read'] },
  ],
});
const classify = (data: Uint8Array): { type?: string } => {
  try {
    const t = (JSON.parse(new TextDecoder().decode(data)) as { type?: unknown }).type;
    return typeof t === 'string' ? { type: t } : {};
  } catch {
    return {};
  }
};

test("[SPEC 8.7, 10.8] a declarative RBAC policy decides per message on the sender's IEC 62351-8 roles", async () => {
  const c = await cast(['operator', 'viewer', 'der'], {
    roles: { operator: ['OPERATOR'], viewer: ['VIEWER'], der: ['VIEWER'] },
    perEndpoint: { der: { policy: derPolicy, classify } },
  });
  try {
    await c.eps.operator!.send('der', utf8('{"type":"setpoint","P":3}'));
    await c.eps.viewer!.send('der', utf8('{"type":"read"}'));
    await c.eps.viewer!.send('der', utf8('{"type":"setpoint","P":99}'));
    await until(() => c.inbox.der!.length === 2 && c.rejects.viewer!.some((r) => r.code === 'ERR_FORBIDDEN'));
    assert.deepEqual(c.inbox.der!.map(text).sort(), ['{"type":"read"}', '{"type":"setpoint","P":3}']);
    assert.deepEqual(
      c.rejects.der!.map((r) => [r.code, r.from]),
      [['ERR_FORBIDDEN', 'viewer']],
    );
    assert.equal(c.eps.der!.stats().rejected.ERR_FORBIDDEN, 1);
  } finally {
    await c.close();
  }
});

test('[SPEC 8.7] a refused outgoing message is not sent: send rejects with ERR_FORBIDDEN', async () => {
  const c = await cast(['cc', 'der'], {
    roles: { cc: ['OPERATOR'], der: ['VIEWER'] },
    perEndpoint: { der: { policy: { default: 'deny', rules: [{ roles: ['OPERATOR'], direction: 'both' }] } } },
  });
  try {
    await c.eps.cc!.send('der', utf8('hello'));
    await until(() => c.inbox.der!.length === 1);
    // the DER may talk to the OPERATOR; now a VIEWER-only peer
    const d = await cast(['peer', 'der2'], {
      roles: { peer: ['VIEWER'], der2: ['VIEWER'] },
      perEndpoint: { der2: { policy: { default: 'deny', rules: [{ roles: ['OPERATOR'], direction: 'both' }] } } },
    });
    try {
      await d.eps.peer!.send('der2', utf8('hi')); // refused on receipt
      await until(() => d.rejects.der2!.length === 1);
      await assert.rejects(d.eps.der2!.send('peer', utf8('answer')), (e) => e instanceof HopsafeError && e.code === 'ERR_FORBIDDEN');
    } finally {
      await d.close();
    }
  } finally {
    await c.close();
  }
});

test('[SPEC 10.8] an invalid policy fails createEndpoint with ERR_CONFIG', async () => {
  await assert.rejects(
    cast(['a'], { perEndpoint: { a: { policy: '{"default":"maybe"}' } } }),
    (e) => e instanceof HopsafeError && e.code === 'ERR_CONFIG',
  );
});
