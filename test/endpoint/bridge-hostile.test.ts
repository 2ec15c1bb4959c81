/** Issue #6: a hostile bridge is detected exactly as a hostile broker would be. Two systems (memory hubs) joined by a bridge. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryHub } from '../../src/bindings/memory.js';
import { createBridge } from '../../src/bindings/bridge.js';
import { createEndpoint, type Endpoint } from '../../src/endpoint/endpoint.js';
import type { MessageEvent, RejectEvent } from '../../src/endpoint/events.js';
import { frameType, FrameType } from '../../src/codec/frame.js';
import { toHex, utf8 } from '../../src/bytes/index.js';
import { createTestPki } from '../../src/testing/index.js';
import { until, text } from '../support/endpoints.js';

for (const protection of ['integrity', 'confidentiality'] as const) {
  test(`[SPEC 8.5, 7.1, 7.4] ${protection}: a bridge that alters, replays and drops is detected; genuine traffic goes on`, async () => {
    const mqttSide = createMemoryHub();
    const xmppSide = createMemoryHub();
    const pki = await createTestPki({
      endpoints: [
        { id: 'der-1', roles: ['VIEWER'] },
        { id: 'control-center', roles: ['OPERATOR'] },
      ],
    });
    let seen = 0;
    let held: Uint8Array | undefined;
    const bridge = await createBridge({
      sides: { mqtt: () => mqttSide.transport(), xmpp: () => xmppSide.transport() },
      endpoints: { 'der-1': 'mqtt', 'control-center': 'xmpp' },
      tap: (f) => {
        if (frameType(f.bytes) !== FrameType.DATA || f.from !== 'der-1') return undefined;
        seen++;
        if (seen === 2) {
          held = f.bytes; // keep for a replay
          return undefined;
        }
        if (seen === 3) {
          const x = f.bytes.slice();
          x[x.length - 5] = (x[x.length - 5] as number) ^ 0x10; // alter
          return x;
        }
        if (seen === 4) return held ? [f.bytes, held] : undefined; // replay an old one after a genuine one
        if (seen === 5) return null; // drop
        return undefined;
      },
    });
    const eps: Endpoint[] = [];
    const got: MessageEvent[] = [];
    const rejects: RejectEvent[] = [];
    const cc = await createEndpoint({
      id: 'control-center',
      identity: pki.identities['control-center']!,
      trust: { roots: pki.roots },
      transport: xmppSide.transport(),
      protection,
    }); // [SPEC 5.5] each side accepts only its own mode by default
    const der = await createEndpoint({
      id: 'der-1',
      identity: pki.identities['der-1']!,
      trust: { roots: pki.roots },
      transport: mqttSide.transport(),
      protection,
    });
    eps.push(cc, der);
    cc.on('message', (m) => got.push(m));
    cc.on('reject', (r) => rejects.push(r));
    const wire: string[] = [];
    xmppSide.tap((f) => void wire.push(toHex(f.bytes)));
    try {
      // integrity mode: message 0 rides in the handshake token, so DATA frames are messages 1..7
      for (let i = 0; i < 8; i++) await der.send('control-center', utf8(`telemetry ${i}`));
      await der.rekey('control-center');
      await der.send('control-center', utf8('after rekey'));
      await cc.send('der-1', utf8('setpoint'));
      await until(() => got.some((m) => text(m) === 'after rekey') && rejects.length >= 2, 10_000);
      const texts = got.map(text);
      // one altered (refused), one dropped (missing), one replay (refused): never delivered twice, never altered
      assert.equal(new Set(texts).size, texts.length, 'nothing delivered twice');
      assert.ok(texts.every((t) => t.startsWith('telemetry ') || t === 'after rekey'));
      assert.equal(texts.length, 9 - 2, 'all but the altered and the dropped one');
      assert.deepEqual(rejects.map((r) => r.code).sort(), ['ERR_BAD_MAC', 'ERR_REPLAY']);
      const secretSeen = wire.some((h) => h.includes(toHex(utf8('telemetry 6'))));
      assert.equal(secretSeen, protection === 'integrity');
      assert.ok(bridge.stats().forwarded > 0);
    } finally {
      for (const e of eps) await e.close();
      await bridge.close();
    }
  });
}
