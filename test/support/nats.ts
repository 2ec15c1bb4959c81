/**
 * NATS helpers: the system nats-server (JetStream) on 127.0.0.1:4222 — tests create and delete their own streams and
 * never reconfigure it — and a private nats-server started by a test on a free port with its own store dir (for
 * reconnect and offline-peer tests that stop and restart the server), and private servers with TLS and authorization.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { freePort, serviceAvailable } from './services.js';
import { makeTlsFiles, type TlsFiles } from './tls-certs.js';
import { toHex } from '../../src/bytes/index.js';

export const NATS_URL = 'nats://127.0.0.1:4222';
export const NATS_SERVICE = 'NATS 127.0.0.1:4222';
export const natsAvailable = (): Promise<boolean> => serviceAvailable('127.0.0.1', 4222);

/** The conformance suite's broker spy: a client of the server subscribed to everything under `prefix` (what a curious operator sees), frames as hex. */
export async function natsSpy(prefix: string, url = NATS_URL): Promise<{ seen(): string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const nc = await connect({ servers: url });
  nc.subscribe(`${prefix}.>`, { callback: (_e, m) => void seen.push(toHex(m.data)) });
  await nc.flush();
  return { seen: () => seen, close: () => nc.close() };
}

/** Deletes a stream (created by a test) if it exists. */
export async function deleteStream(servers: string, stream: string): Promise<void> {
  const nc = await connect({ servers });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(stream).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

/** Path of nats-server, or undefined. */
export function natsServerBinary(): string | undefined {
  for (const c of ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) {
    if (existsSync(c) && spawnSync(c, ['--version'], { encoding: 'utf8' }).status === 0) return c;
  }
  return undefined;
}

export interface PrivateNats {
  readonly port: number;
  readonly url: string;
  /** Stops the server (SIGTERM, then SIGKILL), keeping its store dir. */
  stop(): Promise<void>;
  /** Starts it again on the same port and store dir. */
  restart(): Promise<void>;
  /** Stops it and removes the store dir. */
  destroy(): Promise<void>;
  output(): string;
}

/**
 * Starts a private nats-server with JetStream on a free port and its own store dir; resolves once it accepts
 * connections. `config`: extra lines of its config file (e.g. `max_payload: 4096`).
 */
export async function startPrivateNats(binary: string, config = ''): Promise<PrivateNats> {
  const dir = mkdtempSync(join(tmpdir(), 'hopsafe-nats-'));
  const port = await freePort();
  const confPath = join(dir, 'nats.conf');
  writeFileSync(confPath, `${config}\n`);
  const extraArgs = ['-c', confPath];
  let child: ChildProcess | undefined;
  let out = '';
  const start = async (): Promise<void> => {
    const c = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir, ...extraArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    c.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child = c;
    const deadline = Date.now() + 10_000;
    while (!(await serviceAvailable('127.0.0.1', port))) {
      if (c.exitCode !== null || Date.now() > deadline) throw new Error(`private nats-server did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    stop,
    restart: start,
    destroy: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    output: () => out,
  };
}

export interface SecureNats {
  readonly files: TlsFiles;
  /** TLS (server certificate from `files.ca`) and user/password authorization: `users` → password. */
  readonly tlsPass: PrivateNats;
  /** Mutual TLS (`verify: true`, client certificates from `files.ca`) and `token` authorization. */
  readonly mtlsToken: PrivateNats;
  readonly token: string;
  stop(): Promise<void>;
}

/**
 * Two private nats-servers with JetStream (own config, free ports, store and openssl-made certificates in a temp dir):
 * one with TLS and user/password authorization, one with mutual TLS and a token. Stops only them.
 */
export async function startSecureNats(binary: string, users: Record<string, string>, token: string): Promise<SecureNats> {
  const dir = mkdtempSync(join(tmpdir(), 'hopsafe-nats-tls-'));
  const files = makeTlsFiles(dir);
  const q = JSON.stringify;
  const started: PrivateNats[] = [];
  const stop = async (): Promise<void> => {
    for (const s of started) await s.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const list = Object.entries(users).map(([user, password]) => `{ user: ${q(user)}, password: ${q(password)} }`);
    const tlsPass = await startPrivateNats(
      binary,
      [
        `tls { cert_file: ${q(files.serverCert)}, key_file: ${q(files.serverKey)}, timeout: 2 }`,
        `authorization { users: [ ${list.join(', ')} ] }`,
      ].join('\n'),
    );
    started.push(tlsPass);
    const mtlsToken = await startPrivateNats(
      binary,
      [
        `tls { cert_file: ${q(files.serverCert)}, key_file: ${q(files.serverKey)}, ca_file: ${q(files.ca)}, verify: true, timeout: 2 }`,
        `authorization { token: ${q(token)} }`,
      ].join('\n'),
    );
    started.push(mtlsToken);
    return { files, tlsPass, mtlsToken, token, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
