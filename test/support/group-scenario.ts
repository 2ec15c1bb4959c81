/** The per-transport group scenario of test/groups (brokers, NATS, XMPP). [SPEC 13.9] */
import assert from 'node:assert/strict';
import { toHex, utf8 } from '../../src/bytes/index.js';
import { isGroupFrame } from '../../src/codec/group.js';
import type { Transport } from '../../src/transport/transport.js';
import { cast, text, until } from './endpoints.js';

export const GROUP_MEMBERS = ['scada', 'hist', 'ana'];

/**
 * One publisher, three members, N messages: each member gets each message once, the broker carried exactly one
 * message per publish (`groupMessages()`), what a non-member saw on the group address (`captured()`) holds no
 * plaintext; after a removal the removed member gets nothing more.
 */
export async function groupScenario(
  transport: (id: string) => Transport,
  groupMessages: () => number,
  captured: () => Uint8Array[],
): Promise<void> {
  const MEMBERS = GROUP_MEMBERS;
  const c = await cast(['der', ...MEMBERS], { transport });
  try {
    const g = await c.eps.der!.group('telemetry', { members: MEMBERS });
    await Promise.all(MEMBERS.map((id) => c.eps[id]!.join('der', 'telemetry')));
    const before = groupMessages();
    for (let i = 0; i < 10; i++) await g.publish(utf8(`P=${i} kW secret`));
    await until(() => MEMBERS.every((id) => c.inbox[id]!.length === 10), 10_000, 'deliveries');
    await until(() => groupMessages() - before >= 10, 5000, 'broker count');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(groupMessages() - before, 10, 'one broker message per application message');
    for (const id of MEMBERS) {
      assert.deepEqual(
        c.inbox[id]!.map(text),
        Array.from({ length: 10 }, (_, i) => `P=${i} kW secret`),
      );
      assert.ok(c.inbox[id]!.every((m) => m.from === 'der' && m.group === 'telemetry'));
    }
    const seen = captured();
    assert.ok(seen.length >= 10 && seen.every(isGroupFrame), 'the non-member saw the group frames');
    assert.ok(!seen.some((b) => toHex(b).includes(toHex(utf8('secret')))), 'and no plaintext');
    await g.remove('ana');
    await g.publish(utf8('after removal'));
    await until(() => c.inbox.scada!.length === 11 && c.inbox.hist!.length === 11, 10_000, 'after removal');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(c.inbox.ana!.length, 10, 'removed member reads nothing later');
    assert.equal(c.eps.der!.stats().groups.sent, 11);
  } finally {
    await c.close();
  }
}
