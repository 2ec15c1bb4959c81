/**
 * `hopsafe demo --web [--port N]`: the demo as a web page on 127.0.0.1. The control center is a hopsafe endpoint in
 * the browser (hopsafe/browser, MQTT over WebSocket); three DERs (Node endpoints: der-1 integrity-only, der-2 and
 * der-3 confidentiality) send telemetry to it through the embedded broker, which listens for MQTT over TCP and over
 * WebSocket. The page shows what the endpoints see (verified messages, sessions, key updates, rejects) next to what
 * the broker sees (topics, frames in hex, sizes, rates: every publish, streamed from the broker's tap as server-sent
 * events). The broker can tamper with the next frame to the control center and replay the last one on request.
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
import { startBroker, type RunningBroker } from '../broker/index.js';
import { createTestPki } from '../testing/index.js';
import { toHex } from '../bytes/index.js';
import { frameType, FrameType } from '../codec/frame.js';
import { HopsafeError } from '../errors/index.js';
import { readableText } from './readable-text.js';

const CC = 'control-center';
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
    endpoints: [{ id: CC, roles: ['OPERATOR', 'SECAUD'] }, ...DERS.map((d) => ({ id: d.id, roles: ['VIEWER'] }))],
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

  const ders: Endpoint[] = [];
  for (const d of DERS) {
    const ep = await createEndpoint({
      id: d.id,
      identity: pki.identities[d.id]!,
      trust: { roots: pki.roots },
      transport: mqttTransport({ url: broker.url, unsubscribeOnClose: true, ...(opts.logger ? { logger: opts.logger } : {}) }),
      protection: d.protection,
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
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
      json(res, { wsUrl: broker.wsUrl, prefix: DEFAULT_PREFIX, id: CC, ders: DERS });
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
      await Promise.allSettled(ders.map((d) => d.close()));
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
