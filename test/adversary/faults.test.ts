/**
 * Faults: broker restart mid-stream at QoS 1 (embedded aedes with a shared persistence, and a
 * private Mosquitto with `persistence true` restarted), peer restart with state lost, and a network
 * partition longer than the MQTT offline queue. [SPEC 7.4, 8.2, 8.8]
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, createMemoryPersistence, type RunningBroker } from '../../src/broker/index.js';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { createEndpoint, type Endpoint } from '../../src/endpoint/endpoint.js';
import { createTestPki } from '../../src/testing/index.js';
import { utf8 } from '../../src/bytes/index.js';
import { isHopsafeError } from '../../src/errors/index.js';
import { freePort, requireOrSkip, serviceAvailable } from '../support/services.js';
import { mosquittoBinary } from '../support/mosquitto.js';
import { until } from '../support/endpoints.js';
import { faultNodes, restartMidStream as sharedRestartMidStream } from '../support/broker-restart.js';
import { arena, settle, text } from '../support/arena.js';

const cleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
});

const register = (close: () => Promise<unknown>): void => {
  cleanup.push(close);
};
const nodes = (url: string, protection: 'integrity' | 'confidentiality', maxQueue?: number): ReturnType<typeof faultNodes> =>
  faultNodes(url, protection, { register, ...(maxQueue ? { maxQueue } : {}) });
const restartMidStream = (url: string, protection: 'integrity' | 'confidentiality', restart: () => Promise<void>): Promise<void> =>
  sharedRestartMidStream(url, protection, restart, { register });

describe('faults: broker restart mid-stream at QoS 1', () => {
  for (const protection of ['integrity', 'confidentiality'] as const) {
    test(`[SPEC 7.4, 8.2] ${protection}: embedded aedes restarted (shared persistence) → 0 lost, 0 duplicated, no new handshake`, async () => {
      const persistence = createMemoryPersistence();
      let broker: RunningBroker = await startBroker({ persistence });
      cleanup.push(() => broker.close());
      const port = broker.port;
      await restartMidStream(broker.url, protection, async () => {
        await broker.close();
        await settle(200);
        broker = await startBroker({ port, persistence });
      });
    });
  }

  test('[SPEC 7.4, 8.2] private Mosquitto (persistence true) restarted mid-stream → 0 lost, 0 duplicated, no new handshake', async (t) => {
    const bin = mosquittoBinary();
    if (!requireOrSkip(t, 'mosquitto binary', bin !== undefined)) return;
    const m = await privateMosquitto(bin!);
    cleanup.push(() => m.stop());
    await restartMidStream(m.url, 'confidentiality', () => m.restart());
  });
});

describe('faults: peer restart and partitions', () => {
  test('[SPEC 7.6, 8.8] a peer that restarts with its state lost is re-established automatically, end to end over MQTT; the sender learns which messages were not confirmed', async () => {
    const broker = await startBroker();
    cleanup.push(() => broker.close());
    const pki = await createTestPki({ endpoints: [{ id: 'pa' }, { id: 'pb' }] });
    const mk = async (id: string): Promise<Endpoint> => {
      const ep = await createEndpoint({
        id,
        identity: pki.identities[id]!,
        trust: { roots: pki.roots },
        transport: mqttTransport({
          url: broker.url,
          clientId: `${id}-${Math.random().toString(36).slice(2)}`,
          mqttOptions: { reconnectPeriod: 100 },
        }),
      });
      cleanup.push(() => ep.close());
      return ep;
    };
    const a = await mk('pa');
    let b = await mk('pb');
    const gotA: string[] = [];
    a.on('message', (m) => gotA.push(text(m)));
    const got1: string[] = [];
    b.on('message', (m) => got1.push(text(m)));
    const unconfirmed: { code: string; messages: string[] }[] = [];
    a.on('unconfirmed', (u) => unconfirmed.push({ code: u.code, messages: u.messages.map((m) => new TextDecoder().decode(m)) }));
    await a.send('pb', utf8('one'), { confirm: true }); // acknowledged end to end before the crash
    await until(() => got1.length === 1);
    // b crashes: its goodbye (protected ERR_CLOSED alert) never leaves, its state is gone
    const silence = broker.tap((f) => (f.from === 'pb' ? null : undefined));
    await b.close();
    silence();
    b = await mk('pb');
    const got2: string[] = [];
    b.on('message', (m) => got2.push(text(m)));
    await a.send('pb', utf8('lost')); // b: ERR_UNKNOWN_SESSION + HS_ALERT → a re-handshakes [SPEC 8.8]
    await until(() => a.stats().handshakes.completed === 2, 5000, 're-handshake');
    // [SPEC 7.6] exactly the message the restarted peer never acknowledged is reported, with its payload
    await until(() => unconfirmed.length > 0, 3000, 'unconfirmed event');
    assert.deepEqual(unconfirmed, [{ code: 'ERR_UNKNOWN_SESSION', messages: ['lost'] }]);
    await a.send('pb', utf8('two'));
    await b.send('pa', utf8('back'));
    await until(() => got2.includes('two') && gotA.includes('back'));
    assert.ok(!got2.includes('lost'), 'a message sealed for the lost session cannot be opened by the new one');
    await a.send('pb', utf8('lost'), { confirm: true }); // the application sends it again
    assert.deepEqual(got2, ['two', 'lost']);
  });

  test('[SPEC 8.8] after a peer restart, the sender learns which messages were not confirmed', async () => {
    const x = await arena(['a', 'b']);
    try {
      await x.roundTrip('a', 'b', 'one');
      await until(() => x.eps.a!.unconfirmed('b').length === 0, 3000, "'one' acknowledged before the crash");
      const silence = x.hub.tap((f) => (f.from === 'b' ? null : undefined));
      await x.eps.b!.close();
      silence();
      const b2 = await createEndpoint({
        id: 'b',
        identity: x.pki.identities.b!,
        trust: { roots: x.pki.roots },
        transport: x.hub.transport(),
      });
      cleanup.push(() => b2.close());
      await x.send('a', 'b', 'lost');
      await until(() => x.eps.a!.stats().handshakes.completed === 2, 5000, 're-handshake');
      assert.ok(
        x.rejects.a!.some((r) => r.code === 'ERR_UNKNOWN_SESSION' && r.from === 'b'),
        `a was not told that "lost" was never accepted (rejects: ${x.rejects.a!.map((r) => r.code).join(',')})`,
      );
      // [SPEC 7.6] …and which: the payloads b never acknowledged, nothing it did
      await until(() => x.eps.a!.stats().unconfirmed === 1, 3000, 'unconfirmed reported');
      assert.deepEqual(x.eps.a!.unconfirmed('b'), []);
    } finally {
      await x.close();
    }
  });

  test('[SPEC 8.2] a partition longer than the MQTT queue bound: sends past it fail with ERR_QUEUE_FULL; everything accepted is delivered once; nothing lost silently', async () => {
    const persistence = createMemoryPersistence();
    let broker = await startBroker({ persistence });
    cleanup.push(() => broker.close());
    const port = broker.port;
    const { a, b } = await nodes(broker.url, 'confidentiality', 5);
    await a.ep.send('fb', utf8('before'));
    await until(() => b.got.length === 1);
    await broker.close();
    await until(() => a.statuses.includes('disconnected'), 5000, 'a notices the partition');
    // One send per event-loop turn: each record is its own frame (a burst in one turn would share BATCH frames, SPEC 3.7,
    // and the transport's bound counts frames).
    const outcomes: Promise<string>[] = [];
    for (let i = 0; i < 12; i++) {
      outcomes.push(
        a.ep.send('fb', utf8(`p${i}`)).then(
          () => 'delivered',
          (e: unknown) => (isHopsafeError(e) ? e.code : String(e)),
        ),
      );
      await new Promise((r) => setImmediate(r));
    }
    await settle(300);
    broker = await startBroker({ port, persistence });
    const results = await Promise.all(outcomes);
    const accepted = results.flatMap((r, i) => (r === 'delivered' ? [`p${i}`] : []));
    const refused = results.filter((r) => r === 'ERR_QUEUE_FULL').length;
    assert.equal(accepted.length, 5, `results: ${results.join(',')}`);
    assert.equal(refused, 7, 'every send past the bound is refused with ERR_QUEUE_FULL');
    await until(() => b.got.length === 1 + accepted.length, 10_000, 'accepted messages after the partition');
    await a.ep.send('fb', utf8('after'));
    await until(() => b.got.includes('after'));
    await settle(200);
    assert.deepEqual(b.got, ['before', ...accepted, 'after']);
    assert.equal(a.ep.stats().handshakes.initiated, 1);
  });
});

/** A private Mosquitto with `persistence true` in a temp dir, restartable on its port. */
async function privateMosquitto(bin: string): Promise<{ url: string; restart(): Promise<void>; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'hopsafe-faults-'));
  chmodSync(dir, 0o777); // mosquitto started as root drops to its own user and writes its database here
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location ${dir}/\nautosave_interval 1\n`,
    { mode: 0o644 },
  );
  let child: ChildProcess | undefined;
  let out = '';
  const start = async (): Promise<void> => {
    const c = spawn(bin, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child = c;
    const deadline = Date.now() + 5000;
    while (!(await serviceAvailable('127.0.0.1', port, 200))) {
      if (c.exitCode !== null || Date.now() > deadline) throw new Error(`private mosquitto did not start:\n${out}`);
      await settle(50);
    }
  };
  const halt = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM'); // mosquitto writes its persistence database on a clean exit
    const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    async restart() {
      await halt();
      await settle(200);
      await start();
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
