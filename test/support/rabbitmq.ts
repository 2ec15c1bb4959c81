/**
 * Starts a private RabbitMQ node for one test file — never the system one on 5672: its own node name
 * (`hopsafe-{kind}-{random}@localhost`), config, enabled-plugins list, env file, mnesia, log and Erlang cookie in a
 * temp dir, the distribution port on a free loopback port, and only the listeners the test asks for, on free ports:
 * - `startTlsRabbitmq`: only a TLS listener (no plain AMQP) that requires a client certificate from the test CA
 *   (`verify_peer`, `fail_if_no_peer_cert`), no plugins;
 * - `startWebMqttRabbitmq`: the rabbitmq_web_mqtt plugin (MQTT over WebSocket, path /ws), the MQTT plugin's TCP
 *   listener and plain AMQP (the MQTT plugin's default 1883 and AMQP's 5672 are not used).
 * The node registers with the machine's shared epmd (started by Erlang if none runs; never stopped here).
 *
 * Runs `rabbitmq-server` from the Debian layout (/usr/lib/rabbitmq/bin; the /usr/sbin wrapper would `su` and log to
 * /var/log/rabbitmq). As root it runs as user `rabbitmq`, which then owns the temp dir. `rabbitmqInstalled()` is
 * false when the binary is missing: tests skip (fail under HOPSAFE_REQUIRE_SERVICES=1). [SPEC 8.3]
 */
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, reachable } from './net.js';
import type { TlsFiles } from './tls-certs.js';

const SERVER_BIN = [
  '/usr/lib/rabbitmq/bin/rabbitmq-server',
  '/usr/local/opt/rabbitmq/sbin/rabbitmq-server',
  '/opt/rabbitmq/sbin/rabbitmq-server',
];

/** Path of a rabbitmq-server script that runs the node in the foreground, or undefined. */
export function rabbitmqServerBinary(): string | undefined {
  return SERVER_BIN.find((p) => existsSync(p));
}

export interface PrivateRabbitmq {
  /** The port the node was waited for on 127.0.0.1 (TLS: amqps; web MQTT: the WebSocket listener). */
  readonly tlsPort: number;
  readonly nodename: string;
  /** The node's default user and its random password (created at first boot). */
  readonly username: string;
  readonly password: string;
  /** rabbitmq-server's output so far (its log goes to stdout). */
  output(): string;
  /** Stops the node (SIGTERM: rabbitmq-server stops it cleanly; SIGKILL to its process group after 20 s) and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** When running as root: the rabbitmq user's ids (RabbitMQ's own scripts run the node as that user). */
function runAs(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'rabbitmq'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'rabbitmq'], { encoding: 'utf8' }).trim());
    if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
  } catch {
    /* no such user: run as root */
  }
  return undefined;
}

function chownR(path: string, ids: { uid: number; gid: number }): void {
  chownSync(path, ids.uid, ids.gid);
  if (statSync(path).isDirectory()) for (const n of readdirSync(path)) chownR(join(path, n), ids);
}

/** Boots the node with `files` (server certificate and key, CA for client certificates); resolves once the TLS port accepts connections. */
export async function startTlsRabbitmq(files: TlsFiles, opts: { bootTimeoutMs?: number } = {}): Promise<PrivateRabbitmq> {
  const tlsPort = await freePort();
  return startPrivateRabbitmq('tls', tlsPort, [], opts, (dir) => {
    const certs = join(dir, 'certs');
    mkdirSync(certs);
    const copy = (from: string, name: string): string => {
      const to = join(certs, name);
      writeFileSync(to, readFileSync(from), { mode: 0o600 });
      return to;
    };
    const ca = copy(files.ca, 'ca.pem');
    const cert = copy(files.serverCert, 'server.pem');
    const key = copy(files.serverKey, 'server.key');
    return [
      'listeners.tcp = none',
      `listeners.ssl.default = 127.0.0.1:${tlsPort}`,
      `ssl_options.cacertfile = ${ca}`,
      `ssl_options.certfile = ${cert}`,
      `ssl_options.keyfile = ${key}`,
      'ssl_options.verify = verify_peer',
      'ssl_options.fail_if_no_peer_cert = true',
    ];
  });
}

/** A private node with RabbitMQ's Web MQTT plugin: `wsUrl` (ws://127.0.0.1:port/ws), the MQTT plugin's `mqttUrl`, `amqpUrl`. */
export interface WebMqttRabbitmq extends PrivateRabbitmq {
  readonly wsUrl: string;
  /** mqtt://127.0.0.1:port (credentials: `username`, `password`). */
  readonly mqttUrl: string;
  /** amqp://user:password@127.0.0.1:port. */
  readonly amqpUrl: string;
}

/**
 * Boots a node with rabbitmq_web_mqtt (which brings rabbitmq_mqtt and rabbitmq_web_dispatch): MQTT over WebSocket on
 * one free port, MQTT over TCP on another, AMQP on a third. Resolves once all three accept connections.
 */
export async function startWebMqttRabbitmq(opts: { bootTimeoutMs?: number } = {}): Promise<WebMqttRabbitmq> {
  const [wsPort, mqttPort, amqpPort] = [await freePort(), await freePort(), await freePort()];
  const node = await startPrivateRabbitmq('webmqtt', wsPort, ['rabbitmq_web_mqtt'], opts, () => [
    `listeners.tcp.default = 127.0.0.1:${amqpPort}`,
    `mqtt.listeners.tcp.default = 127.0.0.1:${mqttPort}`,
    'mqtt.allow_anonymous = false',
    'web_mqtt.tcp.ip = 127.0.0.1',
    `web_mqtt.tcp.port = ${wsPort}`,
  ]);
  const deadline = Date.now() + 10_000;
  while (!(await reachable('127.0.0.1', mqttPort, 200)) || !(await reachable('127.0.0.1', amqpPort, 200))) {
    if (Date.now() > deadline) {
      await node.stop();
      throw new Error(`private RabbitMQ ${node.nodename}: no MQTT listener on ${mqttPort} or AMQP on ${amqpPort}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    ...node,
    wsUrl: `ws://127.0.0.1:${wsPort}/ws`,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    amqpUrl: `amqp://${node.username}:${node.password}@127.0.0.1:${amqpPort}`,
  };
}

/** Boots a private node with `configLines(dir)` plus the common lines, `plugins` enabled; waits for `waitPort`. */
async function startPrivateRabbitmq(
  kind: string,
  waitPort: number,
  plugins: readonly string[],
  opts: { bootTimeoutMs?: number },
  configLines: (dir: string) => string[],
): Promise<PrivateRabbitmq> {
  const bin = rabbitmqServerBinary();
  if (bin === undefined) throw new Error('rabbitmq-server is not installed');
  const tlsPort = waitPort;
  const ids = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'hopsafe-rabbitmq-'));
  chmodSync(dir, 0o755);
  const [distPort, nodePort] = [await freePort(), await freePort()];
  const nodename = `hopsafe-${kind}-${randomBytes(4).toString('hex')}@localhost`;
  const username = 'hopsafe';
  const password = randomBytes(12).toString('hex');
  const config = join(dir, 'rabbitmq.conf');
  writeFileSync(
    config,
    [
      '# generated by test/support/rabbitmq.ts',
      ...configLines(dir),
      `default_user = ${username}`,
      `default_pass = ${password}`,
      'log.console = true',
      'log.console.level = info',
      'log.file = false',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'enabled_plugins'), `[${plugins.join(',')}].\n`);
  writeFileSync(join(dir, 'rabbitmq-env.conf'), ''); // instead of /etc/rabbitmq/rabbitmq-env.conf (the system node's)
  mkdirSync(join(dir, 'mnesia'));
  mkdirSync(join(dir, 'log'));
  if (ids) chownR(dir, ids);

  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir, // its own .erlang.cookie
    RABBITMQ_NODENAME: nodename,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(nodePort),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_CONFIG_FILE: config,
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'), // absent: not /etc/rabbitmq's
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  // Its own process group: rabbitmq-server (sh) runs erl as a child, and a last-resort SIGKILL must reach both.
  const child = spawn(bin, [], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...(ids ?? {}) });
  let out = '';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts the colour codes removed here
  const collect = (d: Buffer): void => void (out += d.toString().replace(/\x1b\[[0-9;]*m/g, '')); // no colour codes
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const killGroup = (): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  // Safety net: a test process that ends without stop() must not leave the node behind.
  const onExit = (): void => {
    killGroup();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.off('exit', onExit);
    if (running()) {
      child.kill('SIGTERM');
      const timer = setTimeout(killGroup, 20_000);
      await exited;
      clearTimeout(timer);
    }
    killGroup(); // erl, should it have outlived the script
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (opts.bootTimeoutMs ?? 40_000);
  while (!(await reachable('127.0.0.1', tlsPort, 200))) {
    if (!running() || Date.now() > deadline) {
      const why = running()
        ? `did not listen on ${tlsPort} within ${opts.bootTimeoutMs ?? 40_000} ms`
        : `exited (${child.exitCode ?? child.signalCode})`;
      await stop();
      throw new Error(`private RabbitMQ ${nodename} ${why}:\n${out.split('\n').slice(-40).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { tlsPort, nodename, username, password, output: () => out, stop };
}
