/**
 * `hopsafe peer`: one endpoint driven by JSON lines on stdin, reporting every event as a JSON line on
 * stdout — for scripts, other languages and CI interop. Exits cleanly on EOF.
 */
import { readOptionObjects, readOptionPem } from './read-option-file.js';
import { createInterface } from 'node:readline';
import { createEndpoint, type Endpoint } from '../endpoint/endpoint.js';
import type { Transport } from '../transport/transport.js';
import { HopsafeError, isHopsafeError } from '../errors/index.js';
import { fromBase64, toBase64 } from '../bytes/index.js';
import { parsePeerInput } from '../schemas/peer-input.js';
import { amqpBrokerOptions, mqttBrokerOptions, type BrokerConnection } from '../bindings/broker-connection.js';
import { BROKER_FLAGS, BROKER_USAGE, brokerConnection, hasTls, isTlsScheme } from './broker-options.js';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { cliLogger, logLevel, LOG_LEVEL_HELP } from './logging.js';
import { metricsPort, serveMetrics, METRICS_HELP, type MetricsServer } from './metrics-server.js';
import { attachEcho } from '../conformance/echo.js';
import { catchShutdown } from './shutdown.js';
import { parseFlags, UsageError } from './usage.js';
import { suiteNamesHelp, suiteOption } from './suite-option.js';
import { brokerUrlOption } from './url-option.js';
import { assertPrefix } from '../bindings/mqtt-topics.js';
import { parseCertificate } from '../pki/x509.js';
import { parseCrl } from '../pki/crl.js';

const PROTECTIONS = ['integrity', 'confidentiality'] as const;
type Protection = (typeof PROTECTIONS)[number];

const SCHEMES = ['mqtt', 'mqtts', 'ws', 'wss', 'amqp', 'amqps', 'nats', 'tls'] as const;

const USAGE = `usage: hopsafe peer --id ID --cert FILE --key FILE --trust FILE --url URL
         [--crl FILE] [--protection integrity|confidentiality] [--prefix P]
         [--suite NAME]... [--accept-protection MODE[,MODE]]...
         [--offline-start-ms N]
         [--echo] [--until-signal] [--exit-on-error] [--log-level L]
         [--metrics-port N [--metrics-host H]] [broker connection flags]

  --url URL            mqtt://host[:port] (or mqtts://, ws://, wss://),
                       amqp://host[:port] (or amqps://) or nats://host[:port]
                       (or tls://; ?jetstream=true[&stream=S&storage=file|memory
                       &prefetch=N] for JetStream, SPEC 8.11); port 1-65535
  --cert, --key FILE   this endpoint's certificate chain and private key (PEM;
                       PKCS#8 or SEC1 "EC PRIVATE KEY")
  --trust FILE         PEM trust anchor(s); --crl FILE: PEM CRL(s)
  --prefix P           MQTT topic prefix / AMQP exchange (default hopsafe)
  --suite NAME         offer and accept these suites, in this order
                       (repeatable; default the X25519 suites, SPEC 4.1):
${suiteNamesHelp(25)}
  --accept-protection  modes accepted from an initiating peer (repeatable or
                       comma-separated)
  --offline-start-ms N a session this peer opens, and the lines waiting for
                       it, wait up to N ms for a peer that is offline (stored
                       by JetStream, an MQTT persistent session or an AMQP
                       durable queue; SPEC 5.11); default 0 (off)
  --echo               send every accepted message back to its sender and obey
                       conformance control messages (SPEC Annex C); implies
                       --until-signal
  --until-signal       keep running after stdin ends, until SIGINT/SIGTERM
                       (without it the peer closes when stdin ends: to keep a
                       listener up, use this or 'tail -f /dev/null | ...')
  --exit-on-error      exit 3 if any error, reject or unconfirmed event was
                       printed (for CI scripts)
  ${LOG_LEVEL_HELP}
  ${METRICS_HELP}

stdin, one JSON object a line:
  {"to":"der-17","data":"<base64>"[,"confirm":true]}  {"rekey":"der-17"}
  {"stats":true}
  Lines are read in order and each is started at once, without waiting for
  the one before to finish: messages to one peer are sent in input order,
  but the events answering lines can come in any order ("line" says which).
stdout, one JSON event a line ("event": ...):
  metrics (with --metrics-port, before ready), ready, transport (status),
  handshake, session, key-update, session-closed, message (from, data,
  roles), sent / confirmed (to, line; confirmed: the peer acknowledged a
  "confirm":true line), rekeyed (peer, line), stats, unconfirmed (peer, code,
  data), reject (code), error (code, line, message; a refused input line has
  code ERR_INPUT and "path"), closed (last; "errors" with --exit-on-error).
  A {"rekey":…} read while the handshake with that peer is under way is
  answered "rekeyed" once the session is up and the update made (after its
  key-update event); with no session and no handshake it is an error event
  (ERR_UNKNOWN_SESSION); ERR_CLOSED if the peer closes first.

Exit codes:
  0  stdin ended (or, with --echo/--until-signal, SIGINT/SIGTERM) and the
     endpoint closed; SIGINT/SIGTERM also end a peer reading stdin with 0
     (after {"event":"closed"})
  1  a fatal error: one line on stderr (a file an option names, the broker,
     the identity)
  2  a usage error: one line on stderr and a pointer to this help
  3  with --exit-on-error: errors were reported

${BROKER_USAGE}`;

/** [issue 16] A PEM file of an option, as text; errors name the option. */
function pemText(flag: string, path: string): string {
  return (readOptionPem(flag, path) as Buffer).toString('utf8');
}

function out(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

/** [issue 16] The identity errors createEndpoint reports, said in terms of the options that named the files. */
function identityError(e: unknown, o: { id: string; cert: string; key: string }): unknown {
  if (!isHopsafeError(e)) return e;
  if (e.code === 'ERR_KEY_MISMATCH') return new HopsafeError(e.code, `--key ${o.key}: ${e.message} (--cert ${o.cert})`, { cause: e });
  if (e.code === 'ERR_CERT_NAME') return new HopsafeError(e.code, `--cert ${o.cert}: ${e.message} (--id ${o.id})`, { cause: e });
  if (e.code === 'ERR_MALFORMED' && e.message.startsWith('private key'))
    return new HopsafeError(e.code, `--key ${o.key}: ${e.message}`, { cause: e });
  return e;
}

/** Checks --prefix for the URL's binding (a usage error naming --prefix). */
function checkPrefix(prefix: string | undefined, scheme: string): void {
  if (prefix === undefined || scheme.startsWith('amqp') || scheme === 'nats' || scheme === 'tls') {
    if (prefix === '') throw new UsageError('--prefix: must not be empty');
    return;
  }
  try {
    assertPrefix(prefix);
  } catch (e) {
    throw new UsageError(`--prefix ${JSON.stringify(prefix)}: ${(e as Error).message.replace(/ \(got .*\)$/, '')}`);
  }
}

/** Imports only the binding the URL needs (the client libraries are optional peer dependencies). */
async function transportFor(
  url: string,
  scheme: string,
  prefix: string | undefined,
  broker: BrokerConnection,
  logger: Logger,
): Promise<Transport> {
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
  // [SPEC 8.5] SIGINT/SIGTERM close the endpoint and end the peer with 0, with or without --echo (main.ts catches
  // them from before this module loads; this is the same Shutdown).
  const shutdown = catchShutdown();
  const { values } = parseFlags(argv, {
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
    'offline-start-ms': { type: 'string' },
    ...BROKER_FLAGS,
    'log-level': { type: 'string' },
    'metrics-port': { type: 'string' },
    'metrics-host': { type: 'string' },
    echo: { type: 'boolean' },
    'until-signal': { type: 'boolean' },
    'exit-on-error': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const { id, cert, key, trust, url } = values;
  if (!id || !cert || !key || !trust || !url) {
    const missing = (['id', 'cert', 'key', 'trust', 'url'] as const).filter((k) => !values[k]).map((k) => `--${k}`);
    throw new UsageError(`${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} required`);
  }
  const scheme = brokerUrlOption('--url', url, SCHEMES).protocol.replace(/:$/, '');
  checkPrefix(values.prefix, scheme);
  if (values.protection !== 'integrity' && values.protection !== 'confidentiality')
    throw new UsageError('--protection must be integrity or confidentiality');
  const suites = suiteOption(values.suite).map((s) => s.name);
  const accept: Protection[] = [];
  for (const mode of (values['accept-protection'] ?? []).flatMap((v) => v.split(','))) {
    const m = mode.trim();
    if (!(PROTECTIONS as readonly string[]).includes(m))
      throw new UsageError(`--accept-protection ${JSON.stringify(m)}: must be integrity or confidentiality`);
    if (!accept.includes(m as Protection)) accept.push(m as Protection);
  }
  const offlineText = values['offline-start-ms'];
  const offlineStartMs = offlineText === undefined ? undefined : Number(offlineText);
  if (offlineStartMs !== undefined && !(/^\d+$/.test(offlineText ?? '') && offlineStartMs <= 7 * 86_400_000))
    throw new UsageError('--offline-start-ms must be an integer from 0 to 604800000 (7 days)');
  let logger: Logger;
  let port: number | undefined;
  try {
    logger = cliLogger('peer', logLevel(values['log-level']));
    port = values['metrics-port'] !== undefined ? metricsPort(values['metrics-port']) : undefined;
    if (port === undefined && values['metrics-host'] !== undefined)
      throw new HopsafeError('ERR_CONFIG', '--metrics-host needs --metrics-port');
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  // Every file is read and checked before anything connects: a bad one is reported at once, naming its option.
  const broker = brokerConnection(values);
  const identity = { certificate: readOptionObjects('cert', cert, ['CERTIFICATE'], parseCertificate), privateKey: pemText('key', key) };
  const roots = readOptionObjects('trust', trust, ['CERTIFICATE'], parseCertificate);
  const crl = values.crl !== undefined ? readOptionObjects('crl', values.crl, ['X509 CRL'], parseCrl) : undefined;
  // Metrics: the endpoint's and the process's (process_*, nodejs_*), served until the peer exits.
  const registry = port !== undefined ? new Registry() : undefined;
  let server: MetricsServer | undefined;
  const closed = async (): Promise<number> => {
    await server?.close();
    out({ event: 'closed', ...(values['exit-on-error'] ? { errors } : {}) });
    // [issue 16] --exit-on-error: a CI script fails when anything went wrong (see the exit codes in --help).
    return values['exit-on-error'] && errors > 0 ? 3 : 0;
  };
  let errors = 0;
  let ep: Endpoint | undefined;
  let starting: Promise<Endpoint> | undefined;
  try {
    if (registry && port !== undefined) {
      collectDefaultMetrics({ register: registry });
      server = await serveMetrics(registry, port, values['metrics-host']);
    }
    const transport = await transportFor(url, scheme, values.prefix, broker, logger);
    // [issue 16] Connection changes are events too, so a CI script sees a broker going away.
    transport.onStatus?.((status) => out({ event: 'transport', status }));
    starting = createEndpoint({
      id,
      identity,
      trust: { roots: [roots], ...(crl !== undefined ? { crls: [crl] } : {}) },
      transport,
      protection: values.protection,
      logger,
      ...(registry ? { metrics: { registry } } : {}),
      ...(suites.length > 0 ? { suites } : {}),
      ...(accept.length > 0 ? { acceptProtection: accept } : {}),
      ...(offlineStartMs !== undefined ? { offlineStartMs } : {}),
    });
    ep = await Promise.race([starting, shutdown.requested.then(() => undefined)]);
  } catch (e) {
    await server?.close();
    throw identityError(e, { id, cert, key });
  }
  if (ep === undefined) {
    // [SPEC 8.5] stopped while connecting: close what did open (main.ts does not wait for the rest)
    await Promise.race([
      starting?.then(
        (s) => s.close(),
        () => undefined,
      ),
      new Promise((r) => setTimeout(r, 1000).unref()),
    ]);
    return closed();
  }
  const endpoint = ep;
  endpoint.on('message', (m) => out({ event: 'message', from: m.from, data: toBase64(m.data), roles: m.roles }));
  endpoint.on('reject', (r) => {
    errors++;
    out({ event: 'reject', code: r.code, ...(r.from ? { from: r.from } : {}) });
  });
  endpoint.on('handshake', (h) => out({ event: 'handshake', peer: h.peer }));
  endpoint.on('session', (x) => out({ event: 'session', peer: x.peer, suite: x.suite, protection: x.protection, role: x.role }));
  // {"rekey":…} lines read while the handshake with that peer was under way: answered once the update is made
  const deferredRekeys = new Set<{ peer: string; line: number }>();
  endpoint.on('key-update', (k) => {
    out({ event: 'key-update', peer: k.peer, direction: k.direction, epoch: k.epoch });
    if (k.direction !== 'send') return;
    for (const w of [...deferredRekeys])
      if (w.peer === k.peer) {
        deferredRekeys.delete(w);
        out({ event: 'rekeyed', peer: w.peer, line: w.line });
      }
  });
  endpoint.on('session-closed', (x) => out({ event: 'session-closed', peer: x.peer, reason: x.reason }));
  endpoint.on('unconfirmed', (u) => {
    errors++;
    out({ event: 'unconfirmed', peer: u.peer, code: u.code, data: u.messages.map(toBase64) });
  });
  if (server) out({ event: 'metrics', url: server.url });
  if (values.echo) attachEcho(endpoint, (peer, e) => out({ event: 'error', code: isHopsafeError(e) ? e.code : 'ERR_INPUT', peer }));
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
  void shutdown.requested.then(() => rl.close());
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
      track(
        endpoint.send(cmd.to, data, { confirm }).then(
          () => out({ event: confirm ? 'confirmed' : 'sent', to: cmd.to, line }),
          (e: unknown) => fail(line, e),
        ),
      );
    } else if ('rekey' in cmd) {
      const peer = cmd.rekey;
      if (endpoint.sessions().some((x) => x.peer === peer)) {
        track(
          endpoint.rekey(peer).then(
            () => out({ event: 'rekeyed', peer, line }),
            (e: unknown) => fail(line, e),
          ),
        );
      } else {
        // [SPEC 7.2] no session yet: the endpoint updates the keys once the handshake under way has made one;
        // "rekeyed" is printed then (after that key-update event), not before. No handshake: ERR_UNKNOWN_SESSION.
        const w = { peer, line };
        deferredRekeys.add(w);
        endpoint.rekey(peer).catch((e: unknown) => {
          deferredRekeys.delete(w);
          fail(line, e);
        });
      }
    } else {
      out({ event: 'stats', ...endpoint.stats() });
    }
  }
  // stdin ended (or a signal closed it): without a signal, pending sends finish first; a listener waits for the signal
  if (shutdown.signal === undefined) await Promise.race([Promise.allSettled([...inflight]), shutdown.requested]);
  if (values.echo || values['until-signal']) await shutdown.requested;
  for (const w of deferredRekeys)
    fail(w.line, new HopsafeError('ERR_CLOSED', `closed before a session with ${w.peer} was up: no key update was made`));
  await endpoint.close();
  return closed();
}
