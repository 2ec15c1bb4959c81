/**
 * `hopsafe demo` (and `npm start`): a control center and three DERs exchange telemetry and setpoints
 * end to end through a broker that is watched — and, halfway, tampers and replays. Each message is shown
 * twice, within 80 columns: what the broker sees (hex, and the readable text of integrity-mode frames)
 * and what the application receives.
 *
 * Each DER also publishes a telemetry sample every fifth tick to its group `telemetry` (SPEC 13), whose members are the
 * control center and a historian: sealed once, one broker message (shown once, hex, on `{prefix}/~g/der-N/…`), read by
 * both. The pairwise sessions carry the rest (per-tick telemetry, setpoints, the attacks on them).
 *
 * The broker is the embedded one (default), an external one (`--broker mqtt://…`, watched by a spy client
 * subscribed to `{prefix}/#`, which also plays the attacker by publishing altered and replayed copies), or
 * the in-memory hub. The temporary PKI directory (private keys) is removed on every way out: normal end,
 * error, SIGINT/SIGTERM (which end the demo early, with the summary, exit 0) and a closed stdout
 * (`hopsafe demo | head`: EPIPE ends it quietly, exit 0).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { requirePeer } from '../transport/peer-dependency.js';
import { createEndpoint, type Endpoint } from '../endpoint/endpoint.js';
import { GROUP_LEVEL, type Transport } from '../transport/transport.js';
import { createMemoryHub } from '../bindings/memory.js';
import { mqttTransport } from '../bindings/mqtt.js';
import { DEFAULT_PREFIX, assertPrefix, frameTopic, parseFrameTopic } from '../bindings/mqtt-topics.js';
import { parseGroupTopic } from '../bindings/mqtt-groups.js';
import { splitGroupAddress } from '../transport/group-address.js';
import type { Group } from '../endpoint/groups.js';
import { startBroker, type Interceptor, type RunningBroker } from '../broker/index.js';
import { createTestPki } from '../testing/index.js';
import { toHex } from '../bytes/index.js';
import { decodeRecordHeader, encodeRecordHeader, frameType, FrameType } from '../codec/frame.js';
import { HopsafeError } from '../errors/index.js';
import { catchShutdown } from './shutdown.js';
import { parseFlags, usageFailure } from './usage.js';
import { suiteNamesHelp, suiteOption } from './suite-option.js';
import { readableText } from './readable-text.js';
import { brokerUrlOption } from './url-option.js';
import { cliLogger, logLevel, LOG_LEVEL_HELP, type LogLevel } from './logging.js';

const USAGE = `usage: hopsafe demo [--broker URL [--prefix P] | --transport memory]
                    [--suite NAME]... [--duration S] [--log-level L]
       hopsafe demo --web [--port N]   (page on 127.0.0.1:N, default 8080)

Starts the embedded MQTT broker (or uses --broker; --url is an alias), a control
center and three DERs: der-1 in integrity-only mode, der-2 and der-3 in
confidentiality mode. Every fifth tick each DER also publishes a telemetry
sample to its group "telemetry" (members: the control center and a historian):
one broker message, read by both. On an external broker a spy client
subscribes to P/# (default ${DEFAULT_PREFIX}/#) to show what the broker sees, and
publishes the tampered and replayed frames; the
endpoints connect with client ids "<id>-demo-<random>" so that they never
displace real clients.

  --broker URL         an external MQTT broker: mqtt://host[:port] (or mqtts://,
                       ws://, wss://)
  --prefix P           its topic prefix (default ${DEFAULT_PREFIX})
  --transport memory   the in-memory hub instead of a broker
  --suite NAME         the suites every endpoint offers and accepts, in order
                       (repeatable; default the X25519 suites, SPEC 4.1); the
                       session lines and the summary show the one negotiated
                       and the handshake sizes, e.g. the post-quantum
                       X25519MLKEM768_AES256GCM_SHA384. Names:
${suiteNamesHelp(25)}
  --duration S         seconds the demo runs (default 10; at most 3600)
  ${LOG_LEVEL_HELP}
SIGINT/SIGTERM end the demo early (summary, exit 0). Exit codes: 0 done;
1 a fatal error (e.g. the broker is unreachable); 2 a usage error.`;

const DERS = [
  { id: 'der-1', protection: 'integrity' as const },
  { id: 'der-2', protection: 'confidentiality' as const },
  { id: 'der-3', protection: 'confidentiality' as const },
];
const CC = 'control-center';
/** [SPEC 13] A reader of the DERs' telemetry groups only (no setpoints, not attacked). */
const HISTORIAN = 'historian';
/** [SPEC 13] Each DER's group, its two members, the tick at which they join, and every how many ticks a sample goes to it. */
const GROUP = 'telemetry';
const READERS = [CC, HISTORIAN] as const;
const GROUP_TICK = 3;
const GROUP_EVERY = 5;
/** Every line fits this many columns. */
export const DEMO_COLUMNS = 80;
const LABEL = 8;
const text = new TextDecoder();
const encode = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o));

/** Frame types that can carry application data (ACK frames are not shown). */
const CARRIERS: ReadonlySet<number> = new Set([FrameType.HS_INIT, FrameType.DATA, FrameType.BATCH]);

function typeOf(bytes: Uint8Array): number | undefined {
  try {
    return frameType(bytes);
  } catch {
    return undefined;
  }
}

export async function run(argv: string[]): Promise<number> {
  const args = parseFlags(argv, {
    broker: { type: 'string' },
    url: { type: 'string' },
    prefix: { type: 'string' },
    transport: { type: 'string' },
    duration: { type: 'string', default: '10' },
    'log-level': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    web: { type: 'boolean' },
    port: { type: 'string' },
    suite: { type: 'string', multiple: true },
  });
  if (args.values.help) {
    console.log(USAGE);
    return 0;
  }
  const usageError = (message: string): number => usageFailure('demo', message);
  let level: LogLevel;
  try {
    level = logLevel(args.values['log-level']);
  } catch (e) {
    return usageError((e as Error).message);
  }
  const logger = cliLogger('demo', level);
  const suites = suiteOption(args.values.suite).map((s) => s.name);
  // [issue 21] --web: the demo as a page (src/cli/demo-web.ts).
  if (args.values.web) {
    if (suites.length > 0) return usageError('--suite is for the terminal demo (the web demo uses the default suites)');
    const port = args.values.port === undefined ? 8080 : Number(args.values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) return usageError('--port must be an integer in [0, 65535]');
    return (await import('./demo-web.js')).runWebDemo({ port, logger });
  }
  if (args.values.port !== undefined) return usageError('--port is for --web');
  const duration = Number(args.values.duration);
  if (!Number.isFinite(duration) || duration <= 0 || duration > 3600)
    return usageError('--duration must be a number of seconds in (0, 3600]');
  const useMemory = args.values.transport === 'memory';
  if (args.values.transport && !useMemory)
    return usageError(`unknown --transport ${args.values.transport} (use memory, or --broker for MQTT)`);
  if (args.values.broker && args.values.url && args.values.broker !== args.values.url)
    return usageError('--url is an alias of --broker: give one of them');
  const external = args.values.broker ?? args.values.url;
  if (external && useMemory) return usageError('--broker and --transport memory exclude each other');
  if (external !== undefined)
    brokerUrlOption(args.values.broker !== undefined ? '--broker' : '--url', external, ['mqtt', 'mqtts', 'ws', 'wss']);
  let prefix = DEFAULT_PREFIX;
  try {
    prefix = assertPrefix(args.values.prefix ?? DEFAULT_PREFIX);
  } catch (e) {
    return usageError(`--prefix: ${(e as Error).message}`);
  }

  // Output: one function, every line cut to 80 columns; a closed stdout (EPIPE, `| head`) stops the demo quietly.
  let stdoutClosed = false;
  let stdoutFailed = false;
  let stop!: (why: 'epipe' | NodeJS.Signals) => void;
  const stopped = new Promise<'epipe' | NodeJS.Signals>((r) => (stop = r));
  const onStdoutError = (e: NodeJS.ErrnoException): void => {
    stdoutClosed = true;
    if (e.code !== 'EPIPE') stdoutFailed = true;
    stop('epipe');
  };
  process.stdout.on('error', onStdoutError);
  /** Prints a line, cut to 80 columns unless `whole` (a path or URL, printed on a line of its own, is never cut). */
  const out = (line: string, whole = false): void => {
    if (stdoutClosed) return;
    const chars = [...line];
    process.stdout.write(`${!whole && chars.length > DEMO_COLUMNS ? `${chars.slice(0, DEMO_COLUMNS - 1).join('')}…` : line}\n`);
  };
  const labelled = (label: string, rest: string): void => out(`${label.padEnd(LABEL)}${rest}`);

  // SIGINT/SIGTERM: the first ends the demo early (summary, cleanup, exit 0); a second exits at once
  // (catchShutdown), and the 'exit' listener below still removes the keys.
  const shutdown = catchShutdown();
  void shutdown.requested.then((s) => stop(s));

  // 1. PKI in a temporary directory (what `hopsafe pki init` would write); removed on every exit path.
  const dir = mkdtempSync(join(tmpdir(), 'hopsafe-demo-'));
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);

  const endpoints: Endpoint[] = [];
  let broker: RunningBroker | undefined;
  let spy: MqttClient | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const pki = await createTestPki({
      endpoints: [
        { id: CC, roles: ['OPERATOR', 'SECAUD'] },
        { id: HISTORIAN, roles: ['VIEWER'] },
        ...DERS.map((d) => ({ id: d.id, roles: ['VIEWER'] })),
      ],
    });
    writeFileSync(join(dir, 'ca.pem'), pki.roots.join('\n'));
    for (const [id, ident] of Object.entries(pki.identities)) {
      writeFileSync(join(dir, `${id}.pem`), ident.certificate);
      writeFileSync(join(dir, `${id}.key`), ident.privateKey, { mode: 0o600 });
    }

    // 2. Intermediary: embedded broker (default), external broker (watched by a spy), or memory hub.
    const lastFrame = new Map<string, Uint8Array>();
    let replayable: Uint8Array | undefined;
    let attack: 'none' | 'tamper' | 'replay' | 'done' = 'none';
    /** Size of the last HS_INIT / HS_RESP per direction (`from>to`): what the negotiated suite costs on the wire. */
    const handshakeSize = new Map<string, number>();
    const flip = (bytes: Uint8Array): Uint8Array => {
      const x = bytes.slice();
      x[x.length - 3] = (x[x.length - 3] as number) ^ 0x01;
      return x;
    };
    /**
     * A copy with another sequence number (the header is authenticated: ERR_BAD_MAC). A bit-flipped copy of a frame
     * that was also delivered would be refused by the replay window first (ERR_REPLAY): the spy cannot stop the original.
     */
    const restamp = (bytes: Uint8Array): Uint8Array => {
      const h = decodeRecordHeader(bytes);
      const body = bytes.subarray(h.length);
      const x = encodeRecordHeader(h.type, h.sessionId, h.epoch, h.seq + 1000, body.length);
      x.set(body, x.length - body.length);
      return x;
    };
    /** Records what the intermediary carries; returns the frame to tamper with when it is time to. */
    const observe = (from: string, to: string, bytes: Uint8Array): Uint8Array | undefined => {
      const type = typeOf(bytes);
      if (type === FrameType.HS_INIT || type === FrameType.HS_RESP) handshakeSize.set(`${from}>${to}`, bytes.length);
      if (type === undefined || !CARRIERS.has(type)) return undefined;
      lastFrame.set(`${from}>${to}`, bytes);
      if (from === 'der-1' && to === CC && type === FrameType.DATA) replayable ??= bytes;
      if (attack === 'tamper' && from === 'der-3' && to === CC && type === FrameType.DATA) {
        attack = 'replay';
        return bytes;
      }
      return undefined;
    };
    /**
     * [SPEC 13.9] A group frame the intermediary carries (one per group publish, whatever the number of members),
     * counted per publisher and shown at once: size, hex, der-1's readable text, the topic.
     */
    const groupFrames = new Map<string, number>();
    const observeGroup = (groupPrefix: string, topic: string, bytes: Uint8Array): boolean => {
      const address = parseGroupTopic(groupPrefix, topic);
      if (address === undefined) return false;
      const { publisher } = splitGroupAddress(address);
      groupFrames.set(publisher, (groupFrames.get(publisher) ?? 0) + 1);
      const head = `${publisher}→group ${bytes.length} B `;
      const room = DEMO_COLUMNS - LABEL - head.length - 1;
      labelled('broker', `${head}${toHex(bytes.subarray(0, Math.max(1, Math.floor(room / 2))))}…`);
      const readable = readableText(bytes);
      if (readable) labelled('', `readable: ${readable}`);
      // the topic `{prefix}/~g/{publisher}/{group id}`, from ~g to 8 digits of the group id
      const at = topic.indexOf(`/${GROUP_LEVEL}/`) + 1;
      labelled('', `one message for ${READERS.join(' and ')} on …/${topic.slice(at, topic.lastIndexOf('/') + 9)}…`);
      return true;
    };
    let makeTransport: () => Transport;
    let replay: (bytes: Uint8Array) => Promise<void>;
    let where: string;
    if (useMemory) {
      const hub = createMemoryHub({ logger });
      hub.tap((f) => {
        if (observeGroup('memory', f.topic, f.bytes) || !f.to) return undefined;
        const x = observe(f.from, f.to, f.bytes);
        if (!x) return undefined;
        out('!! the hub flips one bit in a frame der-3 → control-center');
        return flip(x);
      });
      // The hub cannot publish as someone else: the replay rides right behind a genuine der-1 frame.
      hub.tap((f) => {
        if (attack !== 'replay' || f.from !== 'der-1' || f.to !== CC || !replayable) return undefined;
        attack = 'done';
        out('!! the hub re-delivers an old der-1 frame (replay)');
        return [f.bytes, replayable];
      });
      makeTransport = () => hub.transport();
      replay = async () => undefined;
      where = 'in-memory hub';
    } else if (!external) {
      broker = await startBroker();
      const b = broker;
      const tap: Interceptor = (f) => {
        // a group topic `{prefix}/~g/{P}/{G}` also parses as `{prefix'}/{to}/{from}`: it is looked at first
        if (observeGroup(prefix, f.topic, f.bytes) || !f.to) return undefined;
        const x = observe(f.from, f.to, f.bytes);
        if (!x) return undefined;
        out('!! the broker flips one bit in a frame der-3 → control-center');
        return flip(x);
      };
      b.tap(tap);
      makeTransport = () => mqttTransport({ url: b.url, prefix, unsubscribeOnClose: true, logger });
      replay = (bytes) => b.inject({ prefix, from: 'der-1', to: CC, bytes });
      where = `embedded MQTT broker ${b.url}`;
    } else {
      // A spy client on the external broker: it sees what the broker sees, and publishes the attacks.
      const url = external;
      const suffix = randomBytes(4).toString('hex');
      const s = requirePeer<Pick<typeof import('mqtt'), 'connect'>>('mqtt', 'hopsafe demo --broker').connect(url, {
        clientId: `hopsafe-demo-spy-${suffix}`,
        clean: true,
        reconnectPeriod: 1000,
        connectTimeout: 10_000,
      });
      spy = s;
      s.on('error', () => undefined);
      await new Promise<void>((resolve, reject) => {
        const fail = (e: Error): void =>
          reject(new HopsafeError('ERR_TRANSPORT', `MQTT broker ${redact(url)}: ${e.message}`, { cause: e }));
        s.once('error', fail);
        s.once('connect', () => {
          s.off('error', fail);
          s.subscribe(`${prefix}/#`, { qos: 0 }, (err, granted) => {
            if (err) return fail(err);
            if ((granted ?? []).some((g) => g.qos >= 128))
              return fail(new Error(`the broker refused the spy's subscription to ${prefix}/# (an ACL?)`));
            resolve();
          });
        });
      });
      s.on('message', (topic, payload) => {
        if (observeGroup(prefix, topic, new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength))) return;
        const t = parseFrameTopic(topic);
        if (!t || t.prefix !== prefix) return;
        const bytes = new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength).slice();
        const x = observe(t.from, t.to, bytes);
        if (x) {
          // The spy cannot alter the frame in flight; it publishes an altered copy after it.
          out('!! a broker client re-sends a der-3 frame with another sequence number');
          s.publish(topic, Buffer.from(restamp(x)), { qos: 1 });
        }
      });
      makeTransport = () => mqttTransport({ url, prefix, unsubscribeOnClose: true, clientId: (id) => `${id}-demo-${suffix}`, logger });
      replay = (bytes) =>
        new Promise<void>((resolve) => s.publish(frameTopic(prefix, CC, 'der-1'), Buffer.from(bytes), { qos: 1 }, () => resolve()));
      where = `MQTT broker ${redact(url)}`;
    }
    out(`hopsafe demo — ${where}`, true);
    if (spy) out(`watched by a spy client subscribed to ${prefix}/#`, true);
    out('PKI (private keys, removed on exit):');
    out(`  ${dir}`, true);
    if (suites.length > 0) {
      out('suites offered and accepted by every endpoint, in order (--suite):');
      for (const name of suites) out(`  ${name}`);
    }
    out(`${'broker'.padEnd(LABEL)}what the broker sees: sender→recipient, size, hex (+ readable text)`);
    out(`${'app'.padEnd(LABEL)}what the application receives, verified`);
    out('─'.repeat(DEMO_COLUMNS));

    // 3. Endpoints.
    const started = Date.now();
    const handshakeMs = new Map<string, number>();
    const firstSendAt = new Map<string, number>();
    const rejections: string[] = [];
    // An external broker's spy gets its copy about when the endpoint does: wait a moment so the line shows this frame.
    const showDelayMs = external ? 40 : 0;
    const show = (from: string, to: string, data: string): void => {
      const render = (): void => {
        const bytes = lastFrame.get(`${from}>${to}`);
        if (bytes) {
          const head = `${from}→${to} ${bytes.length} B `;
          const room = DEMO_COLUMNS - LABEL - head.length - 1;
          labelled('broker', `${head}${toHex(bytes.subarray(0, Math.max(1, Math.floor(room / 2))))}…`);
          const readable = readableText(bytes);
          if (readable) labelled('', `readable: ${readable}`);
        }
        labelled('app', `${to} ← ${data}`);
      };
      if (showDelayMs) setTimeout(render, showDelayMs).unref();
      else render();
    };
    /** [SPEC 13] Group messages each reader read, per DER (the broker line was printed when the frame went by). */
    const groupRead = new Map<string, number>(READERS.flatMap((r) => DERS.map((d) => [`${r}<${d.id}`, 0] as const)));
    const showGroup = (to: string, from: string, data: string): void => {
      groupRead.set(`${to}<${from}`, (groupRead.get(`${to}<${from}`) ?? 0) + 1);
      const render = (): void => labelled('app', `${to} ← group ${GROUP}, ${from}: ${data}`);
      if (showDelayMs) setTimeout(render, showDelayMs).unref();
      else render();
    };
    const open = (
      id: string,
      extra: { protection?: 'integrity' | 'confidentiality'; acceptProtection?: ('integrity' | 'confidentiality')[] },
    ): Promise<Endpoint> =>
      createEndpoint({
        id,
        identity: pki.identities[id]!,
        trust: { roots: pki.roots },
        transport: makeTransport(),
        logger,
        ...(suites.length > 0 ? { suites } : {}),
        ...extra,
      });
    // [SPEC 5.5] The control center accepts both modes explicitly (by default an endpoint accepts only its own).
    const cc = await open(CC, { acceptProtection: ['integrity', 'confidentiality'] });
    endpoints.push(cc);
    let setpoints = 0;
    cc.on('message', (m) => {
      const body = text.decode(m.data);
      if (m.group !== undefined) return void showGroup(CC, m.from, body);
      show(m.from, CC, body);
      const n = Number((JSON.parse(body) as { n?: unknown }).n);
      if (n % 5 === 0) {
        setpoints++;
        void cc.send(m.from, encode({ setpoint: { P_MW: 3 + (n % 3) * 0.5 } })).catch(() => undefined);
      }
    });
    cc.on('reject', (r) => {
      rejections.push(`${r.code} from ${r.from ?? '?'}`);
      out(`✗ control-center refused a frame from ${r.from ?? '?'}: ${r.code}`);
    });
    cc.on('key-update', (k) => out(`(key update: ${k.direction} with ${k.peer}, epoch ${k.epoch})`));
    // [SPEC 5.5] The historian starts its sessions (its joins) in confidentiality mode; der-1 accepts that too.
    const historian = await open(HISTORIAN, {});
    endpoints.push(historian);
    historian.on('message', (m) => {
      if (m.group !== undefined) showGroup(HISTORIAN, m.from, text.decode(m.data));
    });
    historian.on('reject', (r) => out(`✗ historian refused a frame from ${r.from ?? '?'}: ${r.code}`));
    const ders = new Map<string, Endpoint>();
    const negotiated = new Map<string, string>();
    for (const d of DERS) {
      const ep = await open(d.id, {
        protection: d.protection,
        ...(d.protection === 'integrity' ? { acceptProtection: ['integrity', 'confidentiality'] as const } : {}),
      });
      ep.on('message', (m) => show(CC, d.id, text.decode(m.data)));
      ep.on('session', (s) => {
        if (s.peer === CC) {
          handshakeMs.set(d.id, Date.now() - (firstSendAt.get(d.id) ?? Date.now()));
          negotiated.set(d.id, s.suite);
        }
        // a long (hybrid) suite name goes on a line of its own: every line fits 80 columns
        const head = `session ${d.id}↔${s.peer}: ${s.protection},`;
        if ([...head].length + 1 + s.suite.length <= DEMO_COLUMNS) out(`${head} ${s.suite}`);
        else {
          out(head);
          out(`  ${s.suite}`);
        }
      });
      ders.set(d.id, ep);
      endpoints.push(ep);
    }

    // 4. Telemetry every 200 ms; halfway: rekey, tamper, replay. Ends after --duration, or early on a signal / EPIPE.
    let n = 0;
    /**
     * [SPEC 13] Once the sessions are up: each DER creates its group, the control center and the historian join
     * (each gets the key over its own session with the DER); from then on every GROUP_EVERY-th tick each DER seals
     * one sample once and publishes it once.
     */
    const groups = new Map<string, Group>();
    const groupPublished = new Map<string, number>(DERS.map((d) => [d.id, 0]));
    const groupIssued = new Map<string, number>();
    const openGroups = async (): Promise<void> => {
      await Promise.all(
        DERS.map(async (d) => {
          const g = await ders.get(d.id)!.group(GROUP, { members: [...READERS] });
          await Promise.all([cc.join(d.id, GROUP), historian.join(d.id, GROUP)]);
          out(`group ${d.id}/${GROUP}: ${g.members().join(', ')} joined (key over each session)`);
          groups.set(d.id, g);
        }),
      );
    };
    const publishSample = (id: string): void => {
      const g = groups.get(id);
      if (!g) return;
      const k = (groupIssued.get(id) ?? 0) + 1;
      groupIssued.set(id, k);
      void g.publish(encode({ k, n, P_MW: +(4 + Math.sin(n / 5)).toFixed(2) })).then(
        () => groupPublished.set(id, (groupPublished.get(id) ?? 0) + 1),
        (e: unknown) => out(`group publish failed: ${e instanceof HopsafeError ? e.code : String(e)}`),
      );
    };
    const halfway = started + (duration * 1000) / 2;
    let rekeyed = false;
    timer = setInterval(() => {
      n++;
      for (const d of DERS) {
        const ep = ders.get(d.id)!;
        if (!firstSendAt.has(d.id)) firstSendAt.set(d.id, Date.now());
        const t = { n, P_MW: +(4 + Math.sin(n / 5)).toFixed(2), U_kV: 20.1, f_Hz: 50.01 };
        void ep.send(CC, encode(t)).catch((e: unknown) => out(`send failed: ${e instanceof HopsafeError ? e.code : String(e)}`));
        if (n % GROUP_EVERY === 0) publishSample(d.id);
      }
      if (n === GROUP_TICK)
        void openGroups().catch((e: unknown) => out(`group set-up failed: ${e instanceof HopsafeError ? e.code : String(e)}`));
      if (!rekeyed && Date.now() >= halfway) {
        rekeyed = true;
        void cc.rekey('der-2').catch(() => undefined);
        attack = 'tamper';
        setTimeout(() => {
          if (attack === 'replay' && replayable && !useMemory) {
            attack = 'done';
            out(
              external
                ? '!! a broker client re-publishes an old der-1 frame (replay)'
                : '!! the broker re-publishes an old der-1 frame (replay)',
            );
            void replay(replayable).catch(() => undefined);
          }
        }, 600).unref();
      }
    }, 200);
    let early: 'epipe' | NodeJS.Signals | undefined;
    let durationTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((r) => (durationTimer = setTimeout(r, duration * 1000))),
      stopped.then((why) => {
        early = why;
      }),
    ]);
    clearTimeout(durationTimer);
    clearInterval(timer);
    timer = undefined;
    if (early !== 'epipe') await new Promise((r) => setTimeout(r, 300));

    // 5. Summary (not when stdout is gone).
    out('─'.repeat(DEMO_COLUMNS));
    if (early && early !== 'epipe') out(`(${early}: stopped early)`);
    const s = cc.stats();
    out(`control center: ${s.received} telemetry messages verified and delivered,`);
    out(`  ${setpoints} setpoints sent, ${s.sessions} sessions`);
    for (const d of DERS) {
      const ep = ders.get(d.id)!;
      const st = ep.stats();
      // [SPEC 7.6] The control center's end-to-end acknowledgements, not the broker's PUBACKs.
      // Reported not confirmed (e.g. the ACKs showed the tampered one missing, SPEC 7.6) plus still waiting.
      const notConfirmed = st.unconfirmed + ep.unconfirmed(CC).length;
      out(
        `${d.id} (${d.protection}): sent ${st.sent}, confirmed end to end ${st.confirmed}${notConfirmed ? `, ${notConfirmed} not confirmed` : ''}`,
      );
      out(`  received ${st.received}, handshake ${handshakeMs.get(d.id) ?? '?'} ms (1 round trip)`);
      const init = handshakeSize.get(`${d.id}>${CC}`);
      const resp = handshakeSize.get(`${CC}>${d.id}`);
      out(`  suite ${negotiated.get(d.id) ?? '?'}, HS_INIT ${init ?? '?'} B, HS_RESP ${resp ?? '?'} B`);
      // [SPEC 13] one broker message per group publish, whatever the number of readers
      const published = groupPublished.get(d.id) ?? 0;
      const frames = groupFrames.get(d.id) ?? 0;
      out(`  group ${GROUP}: ${published} published, ${frames} broker message${frames === 1 ? '' : 's'} (1 per publish)`);
      out(`  read by ${READERS.map((r) => `${r} ${groupRead.get(`${r}<${d.id}`) ?? 0} of ${published}`).join(', ')}`);
    }
    out(`rejected by the control center: ${rejections.length ? rejections.join(', ') : 'none'}`);
    return stdoutFailed ? 1 : 0;
  } finally {
    if (timer) clearInterval(timer);
    for (const ep of endpoints) await ep.close().catch(() => undefined);
    if (spy) {
      const s = spy;
      await new Promise<void>((r) => s.end(true, {}, () => r()));
    }
    await broker?.close().catch(() => undefined);
    removeDir();
    process.off('exit', removeDir);
    process.stdout.off('error', onStdoutError);
    // a write still queued for a closed stdout must not turn into an unhandled 'error' after we return
    if (stdoutClosed) process.stdout.on('error', () => undefined);
  }
}

/** Drops credentials from a URL before it is printed. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '<invalid url>';
  }
}
