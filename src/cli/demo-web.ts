/**
 * `hopsafe demo --web [--port N]`: the demo as a web page on 127.0.0.1. The control center is a hopsafe endpoint in
 * the browser (hopsafe/browser, MQTT over WebSocket); three DERs (Node endpoints: der-1 integrity-only, der-2 and
 * der-3 confidentiality) send telemetry to it through the embedded broker, which listens for MQTT over TCP and over
 * WebSocket. The page shows what the endpoints see (verified messages, sessions, key updates, rejects) next to what
 * the broker sees (topics, frames in hex, sizes, rates: every publish, streamed from the broker's tap as server-sent
 * events). The broker can tamper with the next frame to the control center and replay the last one on request.
 *
 * Each DER also publishes a telemetry sample every third tick to its group `telemetry` (SPEC 13), whose members are
 * the page's control center (it joins each DER's group once its session with that DER is up) and a historian (a Node
 * endpoint here): one broker message per sample, shown in the broker view with its group topic `hopsafe/~g/der-N/…`,
 * read by both; the historian's count of samples read reaches the page as server-sent events too.
 *
 * The throw-away PKI is made in memory at start; the page fetches the control center's certificate and key from
 * this server (loopback only) — a demo shortcut: in the page the key is used by the endpoint and sent nowhere else.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { createEndpoint, type Endpoint } from '../endpoint/endpoint.js';
import { mqttTransport } from '../bindings/mqtt.js';
import { DEFAULT_PREFIX } from '../bindings/mqtt-topics.js';
import { parseGroupTopic } from '../bindings/mqtt-groups.js';
import { splitGroupAddress } from '../transport/group-address.js';
import type { Group } from '../endpoint/groups.js';
import { startBroker, type RunningBroker } from '../broker/index.js';
import { createTestPki } from '../testing/index.js';
import { toHex } from '../bytes/index.js';
import { frameType, FrameType } from '../codec/frame.js';
import { HopsafeError } from '../errors/index.js';
import { readableText } from './readable-text.js';

const CC = 'control-center';
const HISTORIAN = 'historian';
/** [SPEC 13] Each DER's group, and every how many telemetry ticks a sample goes to it. */
const GROUP = 'telemetry';
const GROUP_EVERY = 3;
const DERS = [
  { id: 'der-1', protection: 'integrity' as const },
  { id: 'der-2', protection: 'confidentiality' as const },
  { id: 'der-3', protection: 'confidentiality' as const },
];
const FRAME_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(FrameType)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v, k]),
);
/** Page files: web/demo/ of the package (next to dist/), and the browser bundle. */
const ROOT = new URL('../../', import.meta.url);
const FILES: Readonly<Record<string, { path: URL; type: string }>> = {
  '/': { path: new URL('web/demo/index.html', ROOT), type: 'text/html; charset=utf-8' },
  '/app.js': { path: new URL('web/demo/app.js', ROOT), type: 'text/javascript; charset=utf-8' },
  '/hopsafe.js': { path: new URL('dist/browser/index.js', ROOT), type: 'text/javascript; charset=utf-8' },
};

export interface WebDemo {
  /** `http://127.0.0.1:port/` */
  readonly url: string;
  readonly broker: RunningBroker;
  close(): Promise<void>;
}

function typeName(bytes: Uint8Array): string {
  try {
    return FRAME_NAMES[frameType(bytes)] ?? '?';
  } catch {
    return '?';
  }
}

/** Starts the broker (TCP + WebSocket), the three DERs and the page server. */
export async function startWebDemo(opts: { port?: number; logger?: Logger; telemetryMs?: number } = {}): Promise<WebDemo> {
  for (const f of Object.values(FILES))
    try {
      readFileSync(f.path, { flag: 'r' });
    } catch {
      throw new HopsafeError('ERR_CONFIG', `${fileURLToPath(f.path)} is missing: run npm run build`);
    }
  const pki = await createTestPki({
    endpoints: [
      { id: CC, roles: ['OPERATOR', 'SECAUD'] },
      { id: HISTORIAN, roles: ['VIEWER'] },
      ...DERS.map((d) => ({ id: d.id, roles: ['VIEWER'] })),
    ],
  });
  const broker = await startBroker({ ws: true });
  const events = new Set<ServerResponse>();
  const push = (o: object): void => {
    const line = `data: ${JSON.stringify(o)}\n\n`;
    for (const r of events) r.write(line);
  };
  let tamperNext = false;
  let lastToCc: { from: string; bytes: Uint8Array } | undefined;
  broker.tap((f) => {
    // [SPEC 13.9] A group frame `hopsafe/~g/{P}/{G}` (which would also parse as an inbox topic): one per publish.
    const address = parseGroupTopic(DEFAULT_PREFIX, f.topic);
    if (address !== undefined) {
      push({
        kind: 'frame',
        group: true,
        t: Date.now(),
        topic: f.topic,
        from: splitGroupAddress(address).publisher,
        type: typeName(f.bytes),
        size: f.bytes.length,
        hex: toHex(f.bytes.subarray(0, 48)),
        readable: readableText(f.bytes),
        tampered: false,
      });
      return undefined;
    }
    if (!f.to) return undefined;
    const type = typeName(f.bytes);
    let bytes = f.bytes;
    let tampered = false;
    if (f.to === CC && type === 'DATA') {
      if (tamperNext) {
        tamperNext = false;
        tampered = true;
        bytes = f.bytes.slice();
        bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 0x01;
      } else lastToCc = { from: f.from, bytes: f.bytes.slice() };
    }
    push({
      kind: 'frame',
      t: Date.now(),
      topic: f.topic,
      from: f.from,
      to: f.to,
      type,
      size: bytes.length,
      hex: toHex(bytes.subarray(0, 48)),
      readable: readableText(bytes),
      tampered,
    });
    return tampered ? bytes : undefined;
  });

  const open = (
    id: string,
    extra: { protection?: 'integrity' | 'confidentiality'; acceptProtection?: readonly ('integrity' | 'confidentiality')[] },
  ) =>
    createEndpoint({
      id,
      identity: pki.identities[id]!,
      trust: { roots: pki.roots },
      transport: mqttTransport({ url: broker.url, unsubscribeOnClose: true, ...(opts.logger ? { logger: opts.logger } : {}) }),
      ...extra,
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
  const ders: Endpoint[] = [];
  const groups: Group[] = [];
  /** [SPEC 13] Samples each DER published to its group, and those the historian read. */
  const published = new Map<string, number>(DERS.map((d) => [d.id, 0]));
  const historianRead = new Map<string, number>(DERS.map((d) => [d.id, 0]));
  // [SPEC 5.5] The historian starts its sessions (its joins) in confidentiality mode; der-1 accepts that too.
  const historian = await open(HISTORIAN, {});
  historian.on('message', (m) => {
    if (m.group === undefined) return;
    historianRead.set(m.from, (historianRead.get(m.from) ?? 0) + 1);
    push({ kind: 'historian', der: m.from, read: Object.fromEntries(historianRead), text: new TextDecoder().decode(m.data) });
  });
  for (const d of DERS) {
    const ep = await open(d.id, {
      protection: d.protection,
      ...(d.protection === 'integrity' ? { acceptProtection: ['integrity', 'confidentiality'] as const } : {}),
    });
    // [SPEC 13] The DER's group: the page's control center and the historian may join.
    groups.push(await ep.group(GROUP, { members: [CC, HISTORIAN] }));
    ep.on('message', (m) => {
      const text = new TextDecoder().decode(m.data);
      push({ kind: 'der', der: d.id, event: 'message', from: m.from, roles: m.roles, text });
      // A setpoint is applied and acknowledged in a message of its own: traffic both ways.
      void ep
        .send(m.from, new TextEncoder().encode(JSON.stringify({ type: 'applied', der: d.id, request: safeJson(text) })))
        .catch(() => undefined);
    });
    ep.on('reject', (r) => push({ kind: 'der', der: d.id, event: 'reject', code: r.code, from: r.from }));
    ep.on('key-update', (k) => push({ kind: 'der', der: d.id, event: 'key-update', peer: k.peer, direction: k.direction, epoch: k.epoch }));
    ders.push(ep);
  }
  await Promise.all(DERS.map((d) => historian.join(d.id, GROUP)));
  let n = 0;
  let telemetry: NodeJS.Timeout | undefined;
  // Telemetry starts when a page's endpoint is up (POST /ready), so no handshake waits for a page that is not there.
  const startTelemetry = (): void => {
    telemetry ??= setInterval(() => {
      n++;
      for (const [i, ep] of ders.entries())
        void ep
          .send(
            CC,
            new TextEncoder().encode(
              JSON.stringify({ type: 'telemetry', der: DERS[i]!.id, n, P_MW: +(2 + i + Math.sin(n / 5)).toFixed(2) }),
            ),
          )
          .catch(() => undefined);
      if (n % GROUP_EVERY === 0)
        for (const [i, g] of groups.entries()) {
          const der = DERS[i]!.id;
          const k = (published.get(der) ?? 0) + 1;
          published.set(der, k);
          const sample = { type: 'sample', der, k, P_MW: +(2 + i + Math.sin(n / 5)).toFixed(2) };
          void g
            .publish(new TextEncoder().encode(JSON.stringify(sample)))
            .then(() => push({ kind: 'group-published', der, k }))
            .catch(() => undefined);
        }
    }, opts.telemetryMs ?? 1000);
  };

  const cc = pki.identities[CC]!;
  const json = (res: ServerResponse, o: unknown, status = 200): void => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(o));
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && FILES[path]) {
      const f = FILES[path];
      res.writeHead(200, { 'content-type': f.type, 'cache-control': 'no-store' });
      res.end(readFileSync(f.path));
    } else if (req.method === 'GET' && path === '/config.json') {
      json(res, { wsUrl: broker.wsUrl, prefix: DEFAULT_PREFIX, id: CC, ders: DERS, group: GROUP, historian: HISTORIAN });
    } else if (req.method === 'GET' && path === '/pki.json') {
      // The demo's throw-away identity for the page's endpoint (loopback only; see the module comment).
      json(res, { certificate: cc.certificate, privateKey: cc.privateKey, roots: pki.roots });
    } else if (req.method === 'GET' && path === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write(': hopsafe demo\n\n');
      events.add(res);
      req.on('close', () => events.delete(res));
    } else if (req.method === 'POST' && path === '/ready') {
      startTelemetry();
      json(res, { started: true });
    } else if (req.method === 'GET' && path === '/favicon.ico') {
      res.writeHead(204).end();
    } else if (req.method === 'POST' && path === '/tamper') {
      tamperNext = true;
      json(res, { armed: true });
    } else if (req.method === 'POST' && path === '/replay') {
      const last = lastToCc;
      if (!last) return json(res, { replayed: false }, 409);
      void broker
        .inject({ from: last.from, to: CC, bytes: last.bytes })
        .then(() => json(res, { replayed: true, from: last.from, size: last.bytes.length }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    broker,
    async close() {
      if (telemetry) clearInterval(telemetry);
      for (const r of events) r.end();
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
      await Promise.allSettled([...ders, historian].map((d) => d.close()));
      await broker.close();
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The CLI: starts the web demo, prints the URL, runs until SIGINT/SIGTERM. */
export async function runWebDemo(opts: { port?: number; logger?: Logger }): Promise<number> {
  const demo = await startWebDemo(opts);
  console.log(`hopsafe web demo: open ${demo.url}`);
  console.log(`embedded broker: ${demo.broker.url} (MQTT), ${demo.broker.wsUrl ?? '?'} (MQTT over WebSocket)`);
  console.log('Ctrl-C to stop');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await demo.close();
  return 0;
}
