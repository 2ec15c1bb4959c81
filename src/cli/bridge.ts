/**
 * `hopsafe bridge`: forwards opaque frames between messaging systems until SIGINT/SIGTERM. [SPEC 8.5]
 *
 *   hopsafe bridge --side mqtt=mqtt://127.0.0.1:1883 --side xmpp='xmpp://127.0.0.1:5222?domain=localhost' \
 *     --route 'der-*=mqtt' --route 'control-center=xmpp' --id der-1,der-2,control-center --credentials creds.json
 */
import { HopsafeError } from '../errors/index.js';
import { createBridge, type TransportFactory } from '../bindings/bridge.js';
import { parseRouteRule, routeFromRules } from '../bindings/bridge-routes.js';
import { parseSideSpec, sideFactory, type BridgeCredentials } from '../bindings/bridge-config.js';
import { catchShutdown } from './shutdown.js';
import { readOptionFile } from './read-option-file.js';
import { parseFlags, UsageError } from './usage.js';
import { BROKER_FLAGS, BROKER_USAGE, brokerConnection, hasTls, isTlsScheme } from './broker-options.js';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { cliLogger, logLevel, LOG_LEVEL_HELP, type LogLevel } from './logging.js';
import { metricsPort, serveMetrics, METRICS_HELP, type MetricsServer } from './metrics-server.js';

const HELP = `usage: hopsafe bridge --side NAME=URL --side NAME=URL [--side ...]
           --route GLOB=NAME [...] --id ID[,ID...] [...] [--credentials FILE]
           [--stats-interval SECONDS] [--log-level L]
           [--metrics-port N [--metrics-host H]] [broker connection flags]

Forwards frames between transports as opaque bytes (no keys, no
certificates). Each --id is placed on the side of the first --route whose
GLOB matches it (* any run of id characters, ? one); on every other side the
bridge opens a proxy inbox for it.

  --side NAME=URL      mqtt://, mqtts://, ws://, wss://
                         (?prefix=&qos=&protocolVersion=)
                       amqp://, amqps://
                         (?exchange=&durable=&prefix=&queuePrefix=&prefetch=)
                       nats://, tls://
                         (?prefix=&jetstream=true&stream=&storage=&prefetch=)
                       xmpp://host:port?domain=D
                         (&resource=&plainAuth=always|loopback|never)
  --route GLOB=NAME    e.g. 'der-*=mqtt'
  --id ID[,ID...]      endpoint ids to bridge (repeatable)
  --credentials FILE   JSON {"<side>": {"<id>": "<password>"}}: XMPP account
                       passwords (required for XMPP sides), optional MQTT
                       username=id/password
  --stats-interval S   print forwarding counters to stderr every S seconds
  ${LOG_LEVEL_HELP}
  ${METRICS_HELP}

${BROKER_USAGE}
  In the bridge the TLS files go to every mqtts://, wss:// and amqps:// side,
  username/password to every MQTT and AMQP side (a credentials-file entry for
  an id wins on MQTT). XMPP sides take neither (their passwords come from
  --credentials; for a private CA of an XMPP server start node with
  NODE_EXTRA_CA_CERTS=FILE).

Runs until SIGINT or SIGTERM (also while it is still connecting), then closes
its connections and exits 0; a second signal exits at once.
Exit codes: 0 stopped by SIGINT/SIGTERM; 1 a fatal error (one line on
stderr); 2 a usage error (one line and a pointer to this help).
`;

export async function run(argv: string[]): Promise<number> {
  const shutdown = catchShutdown(); // [SPEC 8.5] a signal at any point ends the bridge with 0
  const { values } = parseFlags(argv, {
    side: { type: 'string', multiple: true },
    route: { type: 'string', multiple: true },
    id: { type: 'string', multiple: true },
    credentials: { type: 'string' },
    'stats-interval': { type: 'string' },
    ...BROKER_FLAGS,
    'log-level': { type: 'string' },
    'metrics-port': { type: 'string' },
    'metrics-host': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  let level: LogLevel;
  let port: number | undefined;
  try {
    level = logLevel(values['log-level']);
    port = values['metrics-port'] !== undefined ? metricsPort(values['metrics-port']) : undefined;
    if (port === undefined && values['metrics-host'] !== undefined)
      throw new HopsafeError('ERR_CONFIG', '--metrics-host needs --metrics-port');
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const logger = cliLogger('bridge', level);
  const sides = (values.side ?? []).map(parseSideSpec);
  const rules = (values.route ?? []).map(parseRouteRule);
  const ids = (values.id ?? []).flatMap((s) => s.split(',')).filter((s) => s.length > 0);
  if (sides.length < 2 || rules.length === 0 || ids.length === 0) {
    throw new UsageError('need at least two --side, one --route and one --id');
  }
  const names = new Set<string>();
  for (const s of sides) {
    if (names.has(s.name)) throw new HopsafeError('ERR_CONFIG', `side ${s.name} given twice`);
    names.add(s.name);
  }
  for (const r of rules) if (!names.has(r.side)) throw new HopsafeError('ERR_CONFIG', `route ${r.pattern}=${r.side}: no such side`);
  const route = routeFromRules(rules);
  for (const id of ids) if (route(id) === undefined) throw new HopsafeError('ERR_CONFIG', `id ${id} matches no --route`);

  let credentials: BridgeCredentials = {};
  if (values.credentials !== undefined) {
    const text = readOptionFile('credentials', values.credentials).toString('utf8');
    try {
      credentials = JSON.parse(text) as BridgeCredentials;
    } catch (e) {
      throw new HopsafeError('ERR_CONFIG', `--credentials ${values.credentials}: not JSON (${(e as Error).message})`);
    }
    if (typeof credentials !== 'object' || credentials === null || Array.isArray(credentials))
      throw new HopsafeError('ERR_CONFIG', `--credentials ${values.credentials}: must be a JSON object`);
  }
  const broker = brokerConnection(values);
  if (hasTls(broker) && !sides.some((s) => s.kind !== 'xmpp' && isTlsScheme(s.url.protocol.replace(/:$/, ''))))
    throw new HopsafeError(
      'ERR_CONFIG',
      '--broker-ca/--broker-cert need an MQTT or AMQP side with a TLS URL (mqtts://, wss://, amqps://) or a NATS side with tls://',
    );
  const factories: Record<string, TransportFactory> = {};
  for (const s of sides) factories[s.name] = await sideFactory(s, credentials, broker, logger);

  // Metrics: the bridge's and the process's (process_*, nodejs_*), served from before it connects until it stops.
  const registry = port !== undefined ? new Registry() : undefined;
  let server: MetricsServer | undefined;
  if (registry && port !== undefined) {
    collectDefaultMetrics({ register: registry });
    server = await serveMetrics(registry, port, values['metrics-host']);
    console.error(`hopsafe bridge: metrics on ${server.url}`);
  }
  console.error(`hopsafe bridge: connecting ${sides.map((s) => s.name).join(', ')}`); // names only: URLs may carry credentials
  const starting = createBridge({ sides: factories, route, ids, logger, ...(registry ? { metrics: { registry } } : {}) });
  let bridge: Awaited<typeof starting> | undefined;
  try {
    bridge = await Promise.race([starting, shutdown.requested.then(() => undefined)]);
  } catch (e) {
    await server?.close();
    throw e;
  }
  if (bridge === undefined) {
    // [SPEC 8.5] stopped while connecting: close what did open (main.ts does not wait for the rest)
    console.error(`hopsafe bridge: ${shutdown.signal ?? 'signal'} while starting; stopped`);
    await server?.close();
    await Promise.race([
      starting.then(
        (b) => b.close(),
        () => undefined,
      ),
      new Promise((r) => setTimeout(r, 1000).unref()),
    ]);
    return 0;
  }
  const st = bridge.stats();
  console.error(
    `hopsafe bridge: up (${st.proxies} proxies) ${Object.entries(st.endpoints)
      .map(([id, side]) => `${id}@${side}`)
      .join(' ')}`,
  );
  const interval = values['stats-interval'] !== undefined ? Number(values['stats-interval']) : 0;
  const printStats = (): void => {
    const s = bridge.stats();
    console.error(
      `hopsafe bridge: forwarded=${s.forwarded} bytes=${s.bytes} dropped=${s.dropped} unroutable=${s.unroutable} failed=${s.failed} oversize=${s.oversize}`,
    );
  };
  const timer = interval > 0 ? setInterval(printStats, interval * 1000) : undefined;
  await shutdown.requested;
  if (timer) clearInterval(timer);
  await bridge.close();
  await server?.close();
  printStats();
  return 0;
}
