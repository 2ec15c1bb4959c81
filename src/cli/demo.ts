/**
 * `hopsafe demo` (and `npm start`): a control center and three DERs exchange telemetry and setpoints
 * end to end through a broker that is watched — and, halfway, tampers and replays. The terminal shows
 * side by side what the broker sees and what the application receives.
 */
import { parseArgs } from 'node:util';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEndpoint, type Endpoint } from '../endpoint/endpoint.js';
import type { Transport } from '../bindings/transport.js';
import { createMemoryHub } from '../bindings/memory.js';
import { mqttTransport } from '../bindings/mqtt.js';
import { startBroker, type Interceptor } from '../broker/index.js';
import { createTestPki } from '../testing/index.js';
import { toHex } from '../bytes/index.js';
import { frameType, FrameType } from '../codec/frame.js';
import { HopsafeError } from '../errors/index.js';
import { cliLogger, logLevel, LOG_LEVEL_HELP, type LogLevel } from './logging.js';

const USAGE = `usage: hopsafe demo [--url mqtt://host:port | --transport memory] [--duration S] [--log-level L]

Starts the embedded MQTT broker (or uses --url), a control center and three DERs:
der-1 in integrity-only mode, der-2 and der-3 in confidentiality mode.
  ${LOG_LEVEL_HELP}`;

const DERS = [
  { id: 'der-1', protection: 'integrity' as const },
  { id: 'der-2', protection: 'confidentiality' as const },
  { id: 'der-3', protection: 'confidentiality' as const },
];
const CC = 'control-center';
const W = 58;

function cut(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n);
}

export async function run(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        url: { type: 'string' },
        transport: { type: 'string' },
        duration: { type: 'string', default: '10' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.values.help) {
    console.log(USAGE);
    return 0;
  }
  const duration = Number(args.values.duration);
  if (!Number.isFinite(duration) || duration <= 0 || duration > 3600) {
    console.error('--duration must be a number of seconds in (0, 3600]');
    return 2;
  }
  let level: LogLevel;
  try {
    level = logLevel(args.values['log-level']);
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  const logger = cliLogger('demo', level);
  const useMemory = args.values.transport === 'memory';
  if (args.values.transport && !useMemory) {
    console.error(`unknown --transport ${args.values.transport} (use memory, or --url for MQTT)`);
    return 2;
  }

  // 1. PKI in a temporary directory (what `hopsafe pki init` would write).
  const dir = await mkdtemp(join(tmpdir(), 'hopsafe-demo-'));
  const pki = await createTestPki({
    endpoints: [{ id: CC, roles: ['OPERATOR', 'SECAUD'] }, ...DERS.map((d) => ({ id: d.id, roles: ['VIEWER'] }))],
  });
  await writeFile(join(dir, 'ca.pem'), pki.roots.join('\n'));
  for (const [id, ident] of Object.entries(pki.identities)) {
    await writeFile(join(dir, `${id}.pem`), ident.certificate);
    await writeFile(join(dir, `${id}.key`), ident.privateKey, { mode: 0o600 });
  }

  // 2. Intermediary: embedded broker (default), external broker, or memory hub — all watched.
  const lastFrame = new Map<string, Uint8Array>();
  const replayable: Uint8Array[] = [];
  let attack: 'none' | 'tamper' | 'replay' | 'done' = 'none';
  const watcher: Interceptor = (f) => {
    if (!f.to) return undefined;
    lastFrame.set(`${f.from}>${f.to}`, f.bytes);
    if (f.from === 'der-1' && frameType(f.bytes) === FrameType.DATA && replayable.length < 1) replayable.push(f.bytes);
    if (attack === 'tamper' && f.from === 'der-3' && frameType(f.bytes) === FrameType.DATA) {
      attack = 'replay';
      const x = f.bytes.slice();
      x[x.length - 3] = (x[x.length - 3] as number) ^ 0x01;
      console.log(`${cut('!! broker flips one bit in a frame der-3 → control-center', W)} │`);
      return x;
    }
    return undefined;
  };
  let broker: Awaited<ReturnType<typeof startBroker>> | undefined;
  let makeTransport: () => Transport;
  let inject: (bytes: Uint8Array) => Promise<void>;
  if (useMemory) {
    const hub = createMemoryHub({ logger });
    hub.tap(watcher);
    // The hub cannot publish as someone else: the replay rides right behind a genuine der-1 frame.
    hub.tap((f) => {
      if (attack !== 'replay' || f.from !== 'der-1' || f.to !== CC || !replayable[0]) return undefined;
      attack = 'done';
      console.log(`${cut('!! hub re-delivers an old der-1 frame (replay)', W)} │`);
      return [f.bytes, replayable[0]];
    });
    makeTransport = () => hub.transport();
    inject = async () => undefined;
  } else {
    let url = args.values.url;
    if (!url) {
      broker = await startBroker();
      url = broker.url;
    }
    if (broker) broker.tap(watcher);
    const u = url;
    makeTransport = () => mqttTransport({ url: u, unsubscribeOnClose: true, logger });
    inject = async (bytes) => {
      if (broker) await broker.inject({ from: 'der-1', to: CC, bytes });
    };
  }
  console.log(`hopsafe demo — ${useMemory ? 'in-memory hub' : broker ? `embedded MQTT broker ${broker.url}` : `MQTT broker ${args.values.url}`}; PKI in ${dir}`);
  console.log(`${cut('WHAT THE BROKER SEES (hex)', W)} │ WHAT THE APPLICATION RECEIVES`);
  console.log(`${'─'.repeat(W)}─┼─${'─'.repeat(50)}`);

  // 3. Endpoints.
  const started = Date.now();
  const endpoints: Endpoint[] = [];
  // [SPEC 5.5] The control center accepts both modes explicitly (by default an endpoint accepts only its own).
  const cc = await createEndpoint({ id: CC, identity: pki.identities[CC]!, trust: { roots: pki.roots }, transport: makeTransport(), acceptProtection: ['integrity', 'confidentiality'], logger });
  endpoints.push(cc);
  const handshakeMs = new Map<string, number>();
  const firstSendAt = new Map<string, number>();
  const rejections: string[] = [];
  const show = (from: string, to: string, text: string): void => {
    const bytes = lastFrame.get(`${from}>${to}`);
    const left = bytes ? `${from}→${to} ${toHex(bytes.subarray(0, 20))}… ${bytes.length}B` : `${from}→${to}`;
    console.log(`${cut(left, W)} │ ${to}: ${text}`);
  };
  let setpoints = 0;
  cc.on('message', (m) => {
    show(m.from, CC, `${new TextDecoder().decode(m.data)}`);
    const n = Number(JSON.parse(new TextDecoder().decode(m.data)).n);
    if (n % 5 === 0) {
      setpoints++;
      void cc.send(m.from, new TextEncoder().encode(JSON.stringify({ setpoint: { P_MW: 3 + (n % 3) * 0.5 } }))).catch(() => undefined);
    }
  });
  cc.on('reject', (r) => {
    rejections.push(`${r.code} from ${r.from ?? '?'}`);
    console.log(`${cut('', W)} │ ✗ control-center refused a frame from ${r.from}: ${r.code}`);
  });
  cc.on('key-update', (k) => console.log(`${cut(`(key update ${k.direction} with ${k.peer}, epoch ${k.epoch})`, W)} │`));
  const ders = new Map<string, Endpoint>();
  for (const d of DERS) {
    const ep = await createEndpoint({ id: d.id, identity: pki.identities[d.id]!, trust: { roots: pki.roots }, transport: makeTransport(), protection: d.protection, logger });
    ep.on('message', (m) => show(CC, d.id, new TextDecoder().decode(m.data)));
    ep.on('session', (s) => {
      handshakeMs.set(d.id, Date.now() - (firstSendAt.get(d.id) ?? Date.now()));
      console.log(`${cut(`(session ${d.id}↔${s.peer}: ${s.suite}, ${s.protection}, 1 round trip)`, W)} │`);
    });
    ders.set(d.id, ep);
    endpoints.push(ep);
  }

  // 4. Telemetry every 200 ms; halfway: rekey, tamper, replay.
  let n = 0;
  const halfway = started + (duration * 1000) / 2;
  let rekeyed = false;
  const timer = setInterval(() => {
    n++;
    for (const d of DERS) {
      const ep = ders.get(d.id)!;
      if (!firstSendAt.has(d.id)) firstSendAt.set(d.id, Date.now());
      const t = { n, id: d.id, P_MW: +(4 + Math.sin(n / 5)).toFixed(2), Q_MVAr: 0.3, U_kV: 20.1, f_Hz: 50.01 };
      void ep.send(CC, new TextEncoder().encode(JSON.stringify(t))).catch((e: unknown) => {
        console.log(`send failed: ${e instanceof HopsafeError ? e.code : String(e)}`);
      });
    }
    if (!rekeyed && Date.now() >= halfway) {
      rekeyed = true;
      void cc.rekey('der-2').catch(() => undefined);
      attack = 'tamper';
      setTimeout(() => {
        if (attack === 'replay' && replayable[0] && !useMemory) {
          attack = 'done';
          console.log(`${cut('!! broker re-publishes an old der-1 frame (replay)', W)} │`);
          void inject(replayable[0]);
        }
      }, 600).unref();
    }
  }, 200);
  await new Promise((r) => setTimeout(r, duration * 1000));
  clearInterval(timer);
  await new Promise((r) => setTimeout(r, 300));

  // 5. Summary.
  console.log(`${'─'.repeat(W)}─┴─${'─'.repeat(50)}`);
  const s = cc.stats();
  console.log(`control center: ${s.received} telemetry messages verified and delivered, ${setpoints} setpoints sent, sessions ${s.sessions}`);
  for (const d of DERS) {
    const ep = ders.get(d.id)!;
    const st = ep.stats();
    // [SPEC 7.6] The control center's end-to-end acknowledgements, not the broker's PUBACKs.
    const waiting = ep.unconfirmed(CC).length;
    console.log(
      `  ${d.id} (${d.protection}): sent ${st.sent}, confirmed end to end ${st.confirmed}${waiting ? `, ${waiting} not confirmed` : ''}, received ${st.received}, handshake ${handshakeMs.get(d.id) ?? '?'} ms (1 round trip)`,
    );
  }
  console.log(`rejected by the control center: ${rejections.length ? rejections.join(', ') : 'none'}`);
  for (const ep of endpoints) await ep.close();
  await broker?.close();
  await rm(dir, { recursive: true, force: true });
  return 0;
}
