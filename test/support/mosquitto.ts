/**
 * Starts a private Mosquitto process (separate from the system one on 1883) on a free port with a
 * config built from examples/mosquitto/mosquitto.conf, for ACL tests. Skips when the binary is absent
 * (fails under HOPSAFE_REQUIRE_SERVICES=1, via requireOrSkip). Also: a private Mosquitto daemonized the
 * way a system broker runs (pid file, persistence), for the daemon restart test. Neither touches the
 * system Mosquitto on 1883. And a private Mosquitto with TLS listeners requiring client certificates and a
 * password_file (startSecureMosquitto), for the broker TLS/authentication tests.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, serviceAvailable } from './services.js';
import { makeTlsFiles, type TlsFiles } from './tls-certs.js';

export const EXAMPLES_DIR = fileURLToPath(new URL('../../examples/mosquitto', import.meta.url));

/** Path of the mosquitto binary, or undefined when it is not installed. */
export function mosquittoBinary(): string | undefined {
  for (const candidate of ['mosquitto', '/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto']) {
    const r = spawnSync(candidate, ['-h'], { encoding: 'utf8' });
    if (r.error === undefined && `${r.stdout}${r.stderr}`.includes('mosquitto version')) return candidate;
  }
  return undefined;
}

export interface PrivateMosquitto {
  readonly port: number;
  readonly url: string;
  /** Output mosquitto wrote so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Runs `mosquitto -c <tmp>/mosquitto.conf` with the example config (its listener port rewritten to a
 * free one, its acl_file pointing at a copy of examples/mosquitto/hopsafe.acl). Resolves once the port accepts connections.
 */
export async function startPrivateMosquitto(binary: string): Promise<PrivateMosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'hopsafe-mosq-'));
  chmodSync(dir, 0o755); // mosquitto started as root drops to the 'mosquitto' user before reading the ACL
  const port = await freePort();
  const acl = join(dir, 'hopsafe.acl');
  copyFileSync(join(EXAMPLES_DIR, 'hopsafe.acl'), acl);
  chmodSync(acl, 0o644);
  const conf = readFileSync(join(EXAMPLES_DIR, 'mosquitto.conf'), 'utf8')
    .replace(/^listener\s+\d+.*$/m, `listener ${port} 127.0.0.1`)
    .replace(/^acl_file\s+.*$/m, `acl_file ${acl}`);
  const confPath = join(dir, 'mosquitto.conf');
  writeFileSync(confPath, conf, { mode: 0o644 });
  return runMosquitto(binary, dir, confPath, port);
}

/** Runs `mosquitto -c confPath` in the foreground until `stop()`, which also removes `dir`; resolves once `port` accepts connections. */
export async function runMosquitto(binary: string, dir: string, confPath: string, port: number): Promise<PrivateMosquitto> {
  let out = '';
  const child: ChildProcess = spawn(binary, ['-c', confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 5000;
  while (!(await serviceAvailable('127.0.0.1', port, 200))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`private mosquitto did not start on ${port}:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, url: `mqtt://127.0.0.1:${port}`, output: () => out, stop };
}

/** A private Mosquitto with hop-by-hop TLS and password authentication, on three listeners of its own. */
export interface SecureMosquitto extends PrivateMosquitto {
  /** mqtts://: TLS, a client certificate from `tls.ca` required, anonymous otherwise. */
  readonly tlsUrl: string;
  /** mqtt://: no TLS, `allow_anonymous false`, users from a `mosquitto_passwd -b` password_file. */
  readonly authUrl: string;
  /** mqtts://: client certificate and a user's password both required. */
  readonly tlsAuthUrl: string;
  readonly tls: TlsFiles;
  /** user → password in the broker's password_file. */
  readonly users: Readonly<Record<string, string>>;
}

/** Path of mosquitto_passwd, or undefined when it is not installed. */
export function mosquittoPasswdBinary(): string | undefined {
  for (const candidate of ['mosquitto_passwd', '/usr/bin/mosquitto_passwd', '/usr/local/bin/mosquitto_passwd']) {
    const r = spawnSync(candidate, ['-h'], { encoding: 'utf8' });
    if (r.error === undefined && `${r.stdout}${r.stderr}`.includes('mosquitto_passwd')) return candidate;
  }
  return undefined;
}

/**
 * Starts a private Mosquitto (own config, dir and free ports; `per_listener_settings true`) with the TLS material of
 * {@link makeTlsFiles} and a password_file for `users` made with `mosquitto_passwd -b`. `stop()` ends it and removes its dir.
 */
export async function startSecureMosquitto(binary: string, passwd: string, users: Record<string, string>): Promise<SecureMosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'hopsafe-mosq-tls-'));
  chmodSync(dir, 0o755); // mosquitto started as root drops to the 'mosquitto' user before reading its files
  const tls = makeTlsFiles(dir);
  const passwordFile = join(dir, 'passwd');
  writeFileSync(passwordFile, '', { mode: 0o644 });
  for (const [user, password] of Object.entries(users)) {
    const r = spawnSync(passwd, ['-b', passwordFile, user, password], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr}`);
  }
  chmodSync(passwordFile, 0o644);
  const [tlsPort, authPort, tlsAuthPort] = [await freePort(), await freePort(), await freePort()];
  const certs = [`cafile ${tls.ca}`, `certfile ${tls.serverCert}`, `keyfile ${tls.serverKey}`, 'require_certificate true'];
  const conf = [
    'per_listener_settings true',
    'persistence false',
    `listener ${tlsPort} 127.0.0.1`,
    ...certs,
    'allow_anonymous true',
    `listener ${authPort} 127.0.0.1`,
    'allow_anonymous false',
    `password_file ${passwordFile}`,
    `listener ${tlsAuthPort} 127.0.0.1`,
    ...certs,
    'allow_anonymous false',
    `password_file ${passwordFile}`,
    '',
  ].join('\n');
  const confPath = join(dir, 'mosquitto.conf');
  writeFileSync(confPath, conf, { mode: 0o644 });
  const running = await runMosquitto(binary, dir, confPath, tlsPort);
  // Mosquitto opens its listeners one after another once the first is up (the password file is read for the second):
  // on a loaded machine a single probe right after the first can come too early, so each gets up to 10 s.
  const listening = async (port: number): Promise<boolean> => {
    for (const end = Date.now() + 10_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100)))
      if (await serviceAvailable('127.0.0.1', port, 1000)) return true;
    return false;
  };
  for (const port of [authPort, tlsAuthPort]) {
    if (!(await listening(port))) {
      await running.stop();
      throw new Error(`private mosquitto: listener ${port} is not up:\n${running.output()}`);
    }
  }
  return {
    ...running,
    url: `mqtts://127.0.0.1:${tlsPort}`,
    tlsUrl: `mqtts://127.0.0.1:${tlsPort}`,
    authUrl: `mqtt://127.0.0.1:${authPort}`,
    tlsAuthUrl: `mqtts://127.0.0.1:${tlsAuthPort}`,
    tls,
    users,
  };
}

/**
 * A private Mosquitto run the way a distribution runs its system broker — daemonized (`mosquitto -d -c <conf>`)
 * with a pid file, `persistence true` and no autosave, so only the database written on a clean exit (SIGTERM)
 * survives a restart — but with everything in a temp dir of its own: config, pid file, persistence
 * database, log, and a free port. It only ever signals the pid in its own pid file, and only while that
 * process's command line is the one this helper started (`<binary> -d -c <its conf>`).
 */
export interface DaemonMosquitto {
  readonly port: number;
  readonly url: string;
  /** The pid in the pid file when that process is alive, else undefined. */
  pid(): number | undefined;
  /** True while `pid` is a live process (not a zombie). */
  alive(pid: number): boolean;
  /** SIGTERM to the pid in the pid file (mosquitto writes its persistence database on a clean exit); waits until it exited and the port closed. */
  stop(): Promise<void>;
  /** Starts it again with the same command line; resolves with the new pid once the port accepts connections. */
  start(): Promise<number>;
  /** Stops it if it runs and removes its directory (for after hooks). */
  dispose(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: existence check only, nothing is delivered
  } catch {
    return false;
  }
  try {
    // "pid (comm) S ..." — a zombie (Z) or dead (X) process has exited
    const state = /\)\s+(\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((a) => a.length > 0);
  } catch {
    return [];
  }
}

async function waitFor(cond: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) return false;
    await sleep(50);
  }
  return true;
}

/** Starts a {@link DaemonMosquitto}; resolves once its port accepts connections. */
export async function startDaemonMosquitto(binary: string): Promise<DaemonMosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'hopsafe-mosqd-'));
  chmodSync(dir, 0o777); // mosquitto started as root drops to its own user and writes its database, pid file and log here
  const port = await freePort();
  const host = '127.0.0.1';
  const pidFile = join(dir, 'mosquitto.pid');
  const logFile = join(dir, 'mosquitto.log');
  const confPath = join(dir, 'mosquitto.conf');
  // the config the Debian package installs for its system broker, moved into `dir` and onto `port`
  writeFileSync(
    confPath,
    [
      `pid_file ${pidFile}`,
      'persistence true',
      `persistence_location ${dir}/`,
      `log_dest file ${logFile}`,
      `listener ${port} ${host}`,
      'allow_anonymous true',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const argv = [binary, '-d', '-c', confPath];
  const log = (): string => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const ours = (p: number): boolean => {
    const a = commandLine(p);
    return /(^|\/)mosquitto$/.test(a[0] ?? '') && a.slice(1).join(' ') === argv.slice(1).join(' ');
  };
  const pid = (): number | undefined => {
    const p = readPid(pidFile);
    return p !== undefined && processAlive(p) && ours(p) ? p : undefined;
  };

  const stop = async (): Promise<void> => {
    const p = pid();
    if (p === undefined) throw new Error(`private mosquitto: no live pid of "${argv.join(' ')}" in ${pidFile}`);
    process.kill(p, 'SIGTERM');
    const down = await waitFor(async () => !processAlive(p) && !(await serviceAvailable(host, port, 200)), 15_000);
    if (!down) throw new Error(`private mosquitto (pid ${p}) did not exit within 15 s of SIGTERM`);
  };

  const start = async (): Promise<number> => {
    const before = readPid(pidFile);
    const errPath = join(dir, 'stderr');
    const errFd = openSync(errPath, 'w');
    try {
      // -d: the parent exits once the daemon forked; a file (not a pipe) for stderr so nothing waits on the daemon
      const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', errFd], timeout: 10_000 });
      const started = await waitFor(async () => {
        const p = pid();
        return p !== undefined && p !== before && (await serviceAvailable(host, port, 200));
      }, 10_000);
      if (!started)
        throw new Error(
          `private mosquitto did not start ("${argv.join(' ')}" exited ${String(r.status)}): ${readFileSync(errPath, 'utf8')}${log()}`,
        );
      return pid()!;
    } finally {
      closeSync(errFd);
    }
  };

  const dispose = async (): Promise<void> => {
    if (pid() !== undefined) await stop();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await start();
  } catch (e) {
    await dispose().catch(() => undefined);
    throw e;
  }
  return { port, url: `mqtt://${host}:${port}`, pid, alive: processAlive, stop, start, dispose };
}
