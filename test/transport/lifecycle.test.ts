/**
 * [SPEC 8.10] Every binding applies send's guards in one order (src/transport/lifecycle.ts), so the same misuse gives
 * the same code everywhere (issue 17: an oversized frame on a closed transport was ERR_CLOSED on MQTT and
 * ERR_PAYLOAD_TOO_LARGE on AMQP/XMPP).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assertQueueRoom, assertSendable, PendingSends } from '../../src/transport/lifecycle.js';
import { isHopsafeError, type HopsafeError } from '../../src/errors/index.js';
import type { Transport } from '../../src/transport/transport.js';
import { createMemoryHub } from '../../src/bindings/memory.js';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { amqpTransport } from '../../src/bindings/amqp.js';
import { xmppTransport } from '../../src/bindings/xmpp.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return isHopsafeError(e) ? e.code : String(e);
  }
};

test('[SPEC 8.10] the guards fire in one order: closed, not open, peer id, frame type, size', () => {
  fc.assert(
    fc.property(fc.boolean(), fc.boolean(), fc.boolean(), fc.boolean(), fc.boolean(), (closed, opened, badId, notBytes, big) => {
      const got = codeOf(() =>
        assertSendable(
          { name: 't', closed, localId: opened ? 'me' : undefined, maxFrameSize: 8 },
          badId ? 'bad/id' : 'peer',
          (notBytes ? 'text' : new Uint8Array(big ? 9 : 8)) as Uint8Array,
        ),
      );
      const want = closed
        ? 'ERR_CLOSED'
        : !opened
          ? 'ERR_STATE'
          : badId
            ? 'ERR_INVALID_ID'
            : notBytes
              ? 'ERR_INPUT'
              : big
                ? 'ERR_PAYLOAD_TOO_LARGE'
                : undefined;
      assert.equal(got, want);
    }),
  );
});

test('[SPEC 8.10] the offline bound refuses the frame past maxQueue with ERR_QUEUE_FULL', () => {
  assert.equal(
    codeOf(() => assertQueueRoom('t', 2, 3)),
    undefined,
  );
  assert.equal(
    codeOf(() => assertQueueRoom('t', 3, 3)),
    'ERR_QUEUE_FULL',
  );
});

test('close rejects every pending send once, with ERR_CLOSED', () => {
  const p = new PendingSends();
  const got: HopsafeError[] = [];
  const a = (e: HopsafeError): void => void got.push(e);
  const b = (e: HopsafeError): void => void got.push(e);
  p.add(a);
  p.add(b);
  p.delete(b);
  p.rejectAll('t');
  p.rejectAll('t');
  assert.deepEqual(
    got.map((e) => e.code),
    ['ERR_CLOSED'],
  );
  assert.equal(p.size, 0);
});

const bindings: Record<string, () => Transport> = {
  memory: () => createMemoryHub().transport(),
  mqtt: () => mqttTransport({ url: 'mqtt://127.0.0.1:9' }),
  amqp: () => amqpTransport({ url: 'amqp://127.0.0.1:9' }),
  xmpp: () => xmppTransport({ service: 'xmpp://127.0.0.1:9', domain: 'localhost', password: 'x' }),
};

for (const [name, make] of Object.entries(bindings)) {
  test(`[SPEC 8.10] ${name}: the same misuse gives the same code as on every other binding`, async () => {
    const big = new Uint8Array(10_000_000);
    const fresh = make();
    await assert.rejects(fresh.send('peer', big), { code: 'ERR_STATE' }, 'oversized frame before open');
    await assert.rejects(fresh.send('bad/id', new Uint8Array(1)), { code: 'ERR_STATE' }, 'bad id before open');
    await fresh.close();
    await assert.rejects(fresh.send('peer', big), { code: 'ERR_CLOSED' }, 'oversized frame after close');
    await assert.rejects(fresh.send('bad/id', new Uint8Array(1)), { code: 'ERR_CLOSED' }, 'bad id after close');
    await assert.rejects(fresh.send('peer', 'text' as unknown as Uint8Array), { code: 'ERR_CLOSED' }, 'not bytes after close');
  });
}
