/**
 * `hopsafe peer`: one endpoint driven by JSON lines on stdin, reporting every event as a JSON line on
 * stdout — for scripts, other languages and CI interop. Exits cleanly on EOF.
 */
import { parseArgs } from 'node:util';
import { readOptionPem } from './read-option-file.js';
import { createInterface } from 'node:readline';
import { createEndpoint, type Endpoint } from '../endpoint/endpoint.js';
import type { Transport } from '../transport/transport.js';
import { HopsafeError, isHopsafeError } from '../errors/index.js';
import { fromBase64, toBase64 } from '../bytes/index.js';
import { parsePeerInput } from '../schemas/peer-input.js';
import { SUITES } from '../crypto/suites.js';
import { amqpBrokerOptions, mqttBrokerOptions, type BrokerConnection } from '../bindings/broker-connection.js';
import { BROKER_FLAGS, BROKER_USAGE, brokerConnection, hasTls, isTlsScheme } from './broker-options.js';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { cliLogger, logLevel, LOG_LEVEL_HELP } from './logging.js';
import { metricsPort, serveMetrics, METRICS_HELP, type MetricsServer } from './metrics-server.js';
import { attachEcho, untilStopped } from '../conformance/echo.js';

const SUITE_NAMES = SUITES.map((s) => s.name);
const PROTECTIONS = ['integrity', 'confidentiality'] as const;
type Protection = (typeof PROTECTIONS)[number];

const USAGE = `usage: hopsafe peer --id ID --cert FILE --key FILE --trust FILE [--crl FILE] --url URL
                    [--protection integrity|confidentiality] [--prefix P]
                    [--suite NAME]... [--accept-protection MODE[,MODE]]... [--echo] [--exit-on-error]
                    [--broker-ca FILE] [--broker-cert FILE --broker-key FILE] [--username NAME] [--password SECRET]
                    [--log-level L] [--metrics-port N [--metrics-host H]]

URL: mqtt://host:port (or mqtts://, ws://, wss://), amqp://host:port (or amqps://) or nats://host:port (or tls://;
     ?jetstream=true[&stream=S&storage=file|memory&prefetch=N] for JetStream, SPEC 8.11).
--suite: offer and accept these suites, in this order (repeatable; default the X25519 suites, SPEC 4.1):
         ${SUITE_NAMES.join(', ')}.
--accept-protection: the modes accepted from an initiating peer (repeatable or comma-separated).
  ${LOG_LEVEL_HELP}
  ${METRICS_HELP}
--exit-on-error: exit 3 if any error, reject or unconfirmed event was printed (for CI scripts).
Exit codes: 0 done; 1 a fatal error (one line on stderr: a file an option names, the broker, the identity);
            2 a usage error; 3 with --exit-on-error, errors were reported.
--echo: send every accepted message back to its sender and obey conformance control messages (SPEC Annex C);
        runs until SIGINT/SIGTERM, even after stdin ends.
stdin (JSON lines):  {"to":"der-17","data":"<base64>"[,"confirm":true]}  {"rekey":"der-17"}  {"stats":true}
stdout (JSON lines): {"event":"metrics","url":…} (with --metrics-port, before ready) {"event":"ready"} {"event":"transport","status":…} {"event":"handshake","peer":…} {"event":"session",...} {"event":"message","from":…,"data":…,"roles":[…]}
                     {"event":"sent","to":…,"line":N} ("confirmed" instead with "confirm":true: the peer acknowledged it)
                     {"event":"unconfirmed","peer":…,"code":…,"data":[…]} {"event":"reject","code":…} {"event":"error","code":…,"line":N}
                     (a refused input line: {"event":"error","code":"ERR_INPUT","line":N,"path":"extra","message":…})

${BROKER_USAGE}`;

/** [issue 16] A PEM file of an option, as text; errors name the option. */
function pemText(flag: string, path: string): string {
  return (readOptionPem(flag, path) as Buffer).toString('utf8');
}

function out(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

/** Imports only the binding the URL needs (the client libraries are optional peer dependencies). */
async function transportFor(url: string, prefix: string | undefined, broker: BrokerConnection, logger: Logger): Promise<Transport> {
  const scheme = url.split(':', 1)[0] ?? '';
  const known = ['mqtt', 'mqtts', 'ws', 'wss', 'amqp', 'amqps', 'nats', 'tls'];
  if (!known.includes(scheme)) throw new HopsafeError('ERR_CONFIG', `unsupported URL scheme '${scheme}' (${known.join(', ')})`);
  if (hasTls(broker) && !isTlsScheme(scheme))
    throw new HopsafeError('ERR_CONFIG', `--broker-ca/--broker-cert need a TLS URL (mqtts://, wss://, amqps://, tls://), not ${scheme}://`);
  if (scheme === 'nats' || scheme === 'tls') {
    const { natsOptionsFromUrl } = await import('../bindings/nats-url.js');
    const options = natsOptionsFromUrl(url, broker, prefix);
    const { natsTransport } = await import('../bindings/nats.js');
    return natsTransport({ ...options, logger });
  }
  if (scheme.startsWith('amqp')) {
    const { amqpTransport } = await import('../bindings/amqp.js');
    return amqpTransport({ url, logger, ...amqpBrokerOptions(broker, scheme === 'amqps'), ...(prefix ? { exchange: prefix } : {}) });
  }
  const { mqttTransport } = await import('../bindings/mqtt.js');
  const mqttOptions = mqttBrokerOptions(broker, isTlsScheme(scheme));
  return mqttTransport({ url, logger, ...(prefix ? { prefix } : {}), ...(Object.keys(mqttOptions).length > 0 ? { mqttOptions } : {}) });
}

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        id: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        trust: { type: 'string' },
        crl: { type: 'string' },
        url: { type: 'string' },
        protection: { type: 'string', default: 'confidentiality' },
        prefix: { type: 'string' },
        suite: { type: 'string', multiple: true },
        'accept-protection': { type: 'string', multiple: true },
        ...BROKER_FLAGS,
        'log-level': { type: 'string' },
        'metrics-port': { type: 'string' },
        'metrics-host': { type: 'string' },
        echo: { type: 'boolean' },
        'exit-on-error': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const { id, cert, key, trust, url } = values;
  if (!id || !cert || !key || !trust || !url) {
    console.error(`--id, --cert, --key, --trust and --url are required\n\n${USAGE}`);
    return 2;
  }
  if (values.protection !== 'integrity' && values.protection !== 'confidentiality') {
    console.error('--protection must be integrity or confidentiality');
    return 2;
  }
  const suites = values.suite ?? [];
  const unknownSuite = suites.find((n) => !SUITE_NAMES.includes(n));
  if (unknownSuite !== undefined) {
    console.error(`--suite ${JSON.stringify(unknownSuite)}: unknown suite (one of ${SUITE_NAMES.join(', ')})`);
    return 2;
  }
  if (new Set(suites).size !== suites.length) {
    console.error('--suite: a suite is given twice');
    return 2;
  }
  const accept: Protection[] = [];
  for (const mode of (values['accept-protection'] ?? []).flatMap((v) => v.split(','))) {
    const m = mode.trim();
    if (!(PROTECTIONS as readonly string[]).includes(m)) {
      console.error(`--accept-protection ${JSON.stringify(m)}: must be integrity or confidentiality`);
      return 2;
    }
    if (!accept.includes(m as Protection)) accept.push(m as Protection);
  }
  const broker = brokerConnection(values); // before anything connects: a bad file is reported at once
  let logger: Logger;
  let port: number | undefined;
  try {
    logger = cliLogger('peer', logLevel(values['log-level']));
    port = values['metrics-port'] !== undefined ? metricsPort(values['metrics-port']) : undefined;
    if (port === undefined && values['metrics-host'] !== undefined) throw new HopsafeError('ERR_CONFIG', '--metrics-host needs --metrics-port');
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  // Metrics: the endpoint's and the process's (process_*, nodejs_*), served until the peer exits.
  const registry = port !== undefined ? new Registry() : undefined;
  let server: MetricsServer | undefined;
  let ep: Endpoint;
  try {
    if (registry && port !== undefined) {
      collectDefaultMetrics({ register: registry });
      server = await serveMetrics(registry, port, values['metrics-host']);
    }
    const transport = await transportFor(url, values.prefix, broker, logger);
    // [issue 16] Connection changes are events too, so a CI script sees a broker going away.
    transport.onStatus?.((status) => out({ event: 'transport', status }));
    ep = await createEndpoint({
      id,
      identity: { certificate: pemText('cert', cert), privateKey: pemText('key', key) },
      trust: { roots: [pemText('trust', trust)], ...(values.crl ? { crls: [pemText('crl', values.crl)] } : {}) },
      transport,
      protection: values.protection,
      logger,
      ...(registry ? { metrics: { registry } } : {}),
      ...(suites.length > 0 ? { suites } : {}),
      ...(accept.length > 0 ? { acceptProtection: accept } : {}),
    });
  } catch (e) {
    await server?.close();
    throw e;
  }
  ep.on('message', (m) => out({ event: 'message', from: m.from, data: toBase64(m.data), roles: m.roles }));
  let errors = 0;
  ep.on('reject', (r) => {
    errors++;
    out({ event: 'reject', code: r.code, ...(r.from ? { from: r.from } : {}) });
  });
  ep.on('handshake', (h) => out({ event: 'handshake', peer: h.peer }));
  ep.on('session', (s) => out({ event: 'session', peer: s.peer, suite: s.suite, protection: s.protection, role: s.role }));
  ep.on('key-update', (k) => out({ event: 'key-update', peer: k.peer, direction: k.direction, epoch: k.epoch }));
  ep.on('session-closed', (s) => out({ event: 'session-closed', peer: s.peer, reason: s.reason }));
  ep.on('unconfirmed', (u) => {
    errors++;
    out({ event: 'unconfirmed', peer: u.peer, code: u.code, data: u.messages.map(toBase64) });
  });
  if (server) out({ event: 'metrics', url: server.url });
  if (values.echo) attachEcho(ep, (peer, e) => out({ event: 'error', code: isHopsafeError(e) ? e.code : 'ERR_INPUT', peer }));
  const stopped = values.echo ? untilStopped() : undefined;
  out({ event: 'ready', id });

  const inflight = new Set<Promise<void>>();
  const track = (p: Promise<void>): void => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };
  const fail = (line: number, e: unknown, path?: string): void => {
    const code = isHopsafeError(e) ? e.code : 'ERR_INPUT';
    errors++;
    out({ event: 'error', code, line, ...(path !== undefined ? { path } : {}), message: e instanceof Error ? e.message : String(e) });
  };
  let n = 0;
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  void stopped?.then(() => rl.close());
  for await (const raw of rl) {
    const line = ++n;
    if (raw.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      fail(line, new HopsafeError('ERR_INPUT', 'not JSON'), '');
      continue;
    }
    // An invalid line is an ERR_INPUT event naming the JSON path and what is wrong with it (never zod's raw text).
    const r = parsePeerInput(parsed);
    if (!r.ok) {
      fail(line, r.error, r.path);
      continue;
    }
    const cmd = r.input;
    if ('to' in cmd) {
      let data: Uint8Array;
      try {
        data = fromBase64(cmd.data);
      } catch (e) {
        fail(line, new HopsafeError('ERR_INPUT', `data: ${(e as Error).message}`), 'data');
        continue;
      }
      const confirm = cmd.confirm === true;
      track(ep.send(cmd.to, data, { confirm }).then(() => out({ event: confirm ? 'confirmed' : 'sent', to: cmd.to, line }), (e: unknown) => fail(line, e)));
    } else if ('rekey' in cmd) {
      track(ep.rekey(cmd.rekey).then(() => out({ event: 'rekeyed', peer: cmd.rekey, line }), (e: unknown) => fail(line, e)));
    } else {
      out({ event: 'stats', ...ep.stats() });
    }
  }
  await Promise.allSettled([...inflight]);
  await stopped;
  await ep.close();
  await server?.close();
  out({ event: 'closed', ...(values['exit-on-error'] ? { errors } : {}) });
  // [issue 16] --exit-on-error: a CI script fails when anything went wrong (see the exit codes in --help).
  return values['exit-on-error'] && errors > 0 ? 3 : 0;
}
