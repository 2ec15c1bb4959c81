/**
 * One conformance suite, run unchanged against every transport (issue #6): handshake in both modes,
 * ordering, rekey, large payloads and the size limit, many peers, reconnect, clean close.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createEndpoint, type Endpoint } from '../../src/endpoint/endpoint.js';
import type { MessageEvent } from '../../src/endpoint/events.js';
import type { Transport } from '../../src/transport/transport.js';
import { HopsafeError } from '../../src/errors/index.js';
import { toHex, utf8 } from '../../src/bytes/index.js';
import { createTestPki } from '../../src/testing/index.js';
import { requireOrSkip } from '../support/services.js';
import { until } from '../support/endpoints.js';

export interface TransportUnderTest {
  readonly name: string;
  /** Human name of the external service, for the skip message. */
  readonly service?: string;
  available?(): Promise<boolean>;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
  /** Called with a group's ids before its endpoints are created (register accounts, start a bridge); returns the cleanup. */
  prepare?(ids: readonly string[]): Promise<() => Promise<void>>;
  /** A fresh transport for endpoint `id`. */
  transport(id: string): Transport;
  /** Largest application payload this transport documents as carried (must arrive intact). */
  readonly maxPayload: number;
  /** The transport's maxFrameSize: a payload of this size cannot fit with the record overhead. */
  readonly maxFrameSize: number;
  /** Observes every frame the intermediary carries (hex), for the "no plaintext on the wire" check. */
  spy?(): Promise<{ seen(): string[]; close(): Promise<void> }>;
  /** Breaks the connection of endpoint `id`'s transport so it must reconnect. */
  disrupt?(id: string): Promise<void>;
  /** Extra time budget for slow servers (ms). */
  readonly timeoutMs?: number;
}

const text = (m: MessageEvent): string => new TextDecoder().decode(m.data);
const suffix = (): string => randomBytes(3).toString('hex');

interface Group {
  eps: Record<string, Endpoint>;
  inbox: Record<string, MessageEvent[]>;
  ids: string[];
  close(): Promise<void>;
}

async function group(
  tut: TransportUnderTest,
  names: string[],
  protection: 'integrity' | 'confidentiality' = 'confidentiality',
  suites?: readonly string[],
): Promise<Group> {
  const s = suffix();
  const ids = names.map((n) => `${n}-${s}`);
  const pki = await createTestPki({ endpoints: ids.map((id) => ({ id, roles: ['OPERATOR'] })) });
  const cleanup = (await tut.prepare?.(ids)) ?? (async () => undefined);
  const eps: Record<string, Endpoint> = {};
  const inbox: Record<string, MessageEvent[]> = {};
  for (const id of ids) {
    eps[id] = await createEndpoint({
      id,
      identity: pki.identities[id]!,
      trust: { roots: pki.roots },
      transport: tut.transport(id),
      protection,
      ...(suites ? { suites } : {}),
    });
    inbox[id] = [];
    eps[id]!.on('message', (m) => inbox[id]!.push(m));
  }
  return {
    eps,
    inbox,
    ids,
    close: async () => {
      await Promise.all(Object.values(eps).map((e) => e.close()));
      await cleanup();
    },
  };
}

export function conformance(tut: TransportUnderTest): void {
  describe(`conformance: ${tut.name}`, { timeout: 120_000 }, () => {
    let ok = true;
    const T = tut.timeoutMs ?? 10_000;
    before(async () => {
      if (tut.available) ok = await tut.available();
      if (ok) await tut.setup?.();
    });
    after(async () => {
      if (ok) await tut.teardown?.();
    });
    const guard = (t: { skip(m?: string): void }): boolean => requireOrSkip(t, tut.service ?? tut.name, ok);

    for (const protection of ['integrity', 'confidentiality'] as const) {
      test(`[SPEC 5, 7.1] ${protection}: handshake and messages both ways; the intermediary ${protection === 'integrity' ? 'reads but cannot alter' : 'sees no plaintext'}`, async (t) => {
        if (!guard(t)) return;
        const spy = await tut.spy?.();
        const g = await group(tut, ['cc', 'der'], protection);
        const [cc, der] = g.ids as [string, string];
        try {
          const secret = `P=4.2MW;nonce=${suffix()}`;
          await g.eps[der]!.send(cc, utf8(secret));
          await until(() => g.inbox[cc]!.length === 1, T, 'telemetry');
          assert.equal(text(g.inbox[cc]![0]!), secret);
          await g.eps[cc]!.send(der, utf8('setpoint'));
          await until(() => g.inbox[der]!.length === 1, T, 'setpoint');
          assert.equal(g.inbox[der]![0]!.from, cc);
          if (spy) {
            await until(() => spy.seen().length >= 3, T, 'spy frames');
            const visible = spy.seen().some((h) => h.includes(toHex(utf8(secret))));
            assert.equal(visible, protection === 'integrity');
          }
        } finally {
          await g.close();
          await spy?.close();
        }
      });
    }

    for (const protection of ['integrity', 'confidentiality'] as const) {
      test(`[SPEC 4.1, 4.2, 7.2] ${protection}: hybrid X25519MLKEM768 suite — handshake (≈ 1.9 KB frames), messages both ways, rekey`, async (t) => {
        if (!guard(t)) return;
        const suite = 'X25519MLKEM768_AES256GCM_SHA384';
        const g = await group(tut, ['pq-a', 'pq-b'], protection, [suite, 'X25519_AES128GCM_SHA256']);
        const [a, b] = g.ids as [string, string];
        try {
          await g.eps[a]!.send(b, utf8('hybrid'));
          // (integrity mode: the message rides as early data and arrives before the initiator has its session)
          await until(() => g.inbox[b]!.length === 1 && g.eps[a]!.sessions().length === 1, T, 'first message and session');
          assert.equal(g.eps[a]!.sessions()[0]!.suite, suite);
          assert.equal(g.eps[b]!.sessions()[0]!.suite, suite);
          await g.eps[a]!.rekey(b);
          await g.eps[a]!.send(b, utf8('after rekey'));
          await g.eps[b]!.send(a, utf8('back'));
          await until(() => g.inbox[b]!.length === 2 && g.inbox[a]!.length === 1, T, 'post-rekey traffic');
          assert.deepEqual(g.inbox[b]!.map(text), ['hybrid', 'after rekey']);
          assert.equal(g.eps[a]!.sessions()[0]!.sendEpoch, 1);
          assert.deepEqual(g.eps[b]!.stats().rejected, {});
        } finally {
          await g.close();
        }
      });
    }

    test('[SPEC 7.4] 200 messages arrive in order, exactly once', async (t) => {
      if (!guard(t)) return;
      const g = await group(tut, ['a', 'b']);
      const [a, b] = g.ids as [string, string];
      try {
        await Promise.all(Array.from({ length: 200 }, (_, i) => g.eps[a]!.send(b, utf8(String(i)))));
        await until(() => g.inbox[b]!.length >= 200, T * 2, '200 messages');
        await new Promise((r) => setTimeout(r, 100));
        assert.deepEqual(
          g.inbox[b]!.map(text),
          Array.from({ length: 200 }, (_, i) => String(i)),
        );
      } finally {
        await g.close();
      }
    });

    test('[SPEC 7.2] rekey through the intermediary; traffic continues both ways', async (t) => {
      if (!guard(t)) return;
      const g = await group(tut, ['a', 'b']);
      const [a, b] = g.ids as [string, string];
      try {
        await g.eps[a]!.send(b, utf8('before'));
        await until(() => g.inbox[b]!.length === 1, T);
        await g.eps[a]!.rekey(b);
        for (let i = 0; i < 5; i++) {
          await g.eps[a]!.send(b, utf8(`a${i}`));
          await g.eps[b]!.send(a, utf8(`b${i}`));
        }
        await until(() => g.inbox[b]!.length === 6 && g.inbox[a]!.length === 5, T, 'post-rekey traffic');
        assert.equal(g.eps[a]!.sessions()[0]!.sendEpoch, 1);
        assert.equal(g.eps[b]!.sessions()[0]!.sendEpoch, 1, 'the peer answered requestUpdate');
        assert.deepEqual(g.eps[b]!.stats().rejected, {});
      } finally {
        await g.close();
      }
    });

    test(`[SPEC 8] payloads up to ${tut.maxPayload} bytes arrive intact; larger ones fail at send with ERR_PAYLOAD_TOO_LARGE`, async (t) => {
      if (!guard(t)) return;
      const g = await group(tut, ['a', 'b']);
      const [a, b] = g.ids as [string, string];
      try {
        const big = new Uint8Array(randomBytes(tut.maxPayload));
        await g.eps[a]!.send(b, big);
        await until(() => g.inbox[b]!.length === 1, T * 2, 'large payload');
        assert.ok(Buffer.from(g.inbox[b]![0]!.data).equals(Buffer.from(big)));
        const tooBig = new Uint8Array(tut.maxFrameSize);
        await assert.rejects(g.eps[a]!.send(b, tooBig), (e) => e instanceof HopsafeError && e.code === 'ERR_PAYLOAD_TOO_LARGE');
      } finally {
        await g.close();
      }
    });

    test('[SPEC 8] large frames in bursts, sealed into reused memory (the transport copies frames in send): every message intact, in order', async (t) => {
      if (!guard(t)) return;
      const g = await group(tut, ['a', 'b']);
      const [a, b] = g.ids as [string, string];
      try {
        await g.eps[a]!.send(b, utf8('session'));
        await until(() => g.inbox[b]!.length === 1 && g.eps[a]!.sessions().length === 1, T, 'session');
        const size = Math.min(6000, tut.maxPayload);
        const sent: Buffer[] = [];
        for (let burst = 0; burst < 5; burst++) {
          const batch = Array.from({ length: 8 }, () => randomBytes(size));
          sent.push(...batch);
          await Promise.all(batch.map((m) => g.eps[a]!.send(b, new Uint8Array(m))));
        }
        await until(() => g.inbox[b]!.length === 1 + sent.length, T * 2, 'large messages');
        const got = g.inbox[b]!.slice(1).map((m) => Buffer.from(m.data).toString('hex'));
        assert.deepEqual(
          got,
          sent.map((m) => m.toString('hex')),
        );
      } finally {
        await g.close();
      }
    });

    test('[SPEC 8] twenty peers talk to one endpoint at once', async (t) => {
      if (!guard(t)) return;
      const names = ['cc', ...Array.from({ length: 20 }, (_, i) => `der${i}`)];
      const g = await group(tut, names);
      const [cc, ...ders] = g.ids as [string, ...string[]];
      try {
        g.eps[cc]!.on('message', (m) => void g.eps[cc]!.send(m.from, utf8(`ack ${text(m)}`)));
        await Promise.all(ders.flatMap((d) => [0, 1, 2].map((i) => g.eps[d]!.send(cc, utf8(`${d}/${i}`)))));
        await until(() => g.inbox[cc]!.length === 60 && ders.every((d) => g.inbox[d]!.length === 3), T * 3, 'all acks');
        assert.equal(g.eps[cc]!.stats().sessions, 20);
      } finally {
        await g.close();
      }
    });

    if (tut.disrupt) {
      test('[SPEC 8] the session survives a transport reconnect (no new handshake)', async (t) => {
        if (!guard(t)) return;
        const g = await group(tut, ['a', 'b']);
        const [a, b] = g.ids as [string, string];
        try {
          await g.eps[a]!.send(b, utf8('one'));
          await until(() => g.inbox[b]!.length === 1, T);
          await tut.disrupt!(a);
          await g.eps[a]!.send(b, utf8('two'));
          await g.eps[b]!.send(a, utf8('three'));
          await until(() => g.inbox[b]!.length === 2 && g.inbox[a]!.length === 1, T * 2, 'after reconnect');
          assert.equal(g.eps[a]!.stats().handshakes.completed, 1);
        } finally {
          await g.close();
        }
      });
    }

    test('[SPEC 8.8] clean close: the peer learns the session ended; later sends fail with ERR_CLOSED', async (t) => {
      if (!guard(t)) return;
      const g = await group(tut, ['a', 'b']);
      const [a, b] = g.ids as [string, string];
      try {
        await g.eps[a]!.send(b, utf8('x'));
        await until(() => g.inbox[b]!.length === 1, T);
        const closed: string[] = [];
        g.eps[b]!.on('session-closed', (e) => closed.push(e.reason));
        await g.eps[a]!.close();
        await until(() => closed.length === 1, T, 'session-closed');
        await assert.rejects(g.eps[a]!.send(b, utf8('y')), (e) => e instanceof HopsafeError && e.code === 'ERR_CLOSED');
      } finally {
        await g.close();
      }
    });
  });
}
