/**
 * Starts a private Mosquitto process (separate from the system one on 1883) on a free port with a
 * config built from examples/mosquitto/mosquitto.conf, for ACL tests. Skips when the binary is absent
 * (fails under HOPSAFE_REQUIRE_SERVICES=1, via requireOrSkip). Also: control of the system Mosquitto
 * (stop / start it as the system does) for the serial restart test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, serviceAvailable } from './services.js';

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

/** The system Mosquitto the suite's other MQTT tests use (.ci/run starts it this way). */
export const SYSTEM_MOSQUITTO = {
  host: '127.0.0.1',
  port: 1883,
  url: 'mqtt://127.0.0.1:1883',
  conf: '/etc/mosquitto/mosquitto.conf',
} as const;

/** Control of the system Mosquitto daemon, for the tests that restart it (run serially, see scripts/run-tests.mjs). */
export interface SystemMosquitto {
  readonly url: string;
  /** The pid in the pid file when that process is alive, else undefined. */
  pid(): number | undefined;
  /** True while `pid` is a live process (not a zombie). */
  alive(pid: number): boolean;
  /** SIGTERM to the pid in the pid file (mosquitto writes its persistence database on a clean exit); waits until it exited and the port closed. */
  stop(): Promise<void>;
  /** Starts it as the system does (the recorded command line: `mosquitto -d -c <conf>`); resolves with the new pid once the port accepts connections. */
  start(): Promise<number>;
  /** Starts it again unless it is running (for after hooks: always leave the system broker up). */
  ensureRunning(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function confValue(conf: string, key: string): string | undefined {
  const m = new RegExp(`^\\s*${key}\\s+(\\S.*?)\\s*$`, 'm').exec(conf);
  return m?.[1];
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
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

/**
 * A controller for the system Mosquitto (127.0.0.1:1883), or the reason it cannot be restarted from this
 * process (not reachable, not root, no pid file, the pid is not `mosquitto -d -c /etc/mosquitto/mosquitto.conf`,
 * persistence off) — pass that to requireOrSkip.
 */
export async function systemMosquitto(): Promise<SystemMosquitto | string> {
  const { host, port, url } = SYSTEM_MOSQUITTO;
  if (!(await serviceAvailable(host, port))) return `Mosquitto ${host}:${port} is not reachable`;
  if (process.getuid?.() !== 0) return 'this process is not root';
  let conf: string;
  try {
    conf = readFileSync(SYSTEM_MOSQUITTO.conf, 'utf8');
  } catch {
    return `${SYSTEM_MOSQUITTO.conf} is not readable`;
  }
  const pidFile = confValue(conf, 'pid_file');
  if (!pidFile) return `${SYSTEM_MOSQUITTO.conf} sets no pid_file`;
  if (confValue(conf, 'persistence') !== 'true') return `${SYSTEM_MOSQUITTO.conf} does not set "persistence true"`;
  const original = readPid(pidFile);
  if (original === undefined || !processAlive(original)) return `no live pid in ${pidFile}`;
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${original}/cmdline`, 'utf8').split('\0').filter((a) => a.length > 0);
  } catch {
    return `cannot read the command line of pid ${original}`;
  }
  const c = argv.indexOf('-c');
  if (!/(^|\/)mosquitto$/.test(argv[0] ?? '') || !argv.includes('-d') || argv[c + 1] !== SYSTEM_MOSQUITTO.conf)
    return `pid ${original} is not "mosquitto -d -c ${SYSTEM_MOSQUITTO.conf}" (it is "${argv.join(' ')}")`;
  const runDir = dirname(pidFile);
  const runDirStat = statSync(runDir); // the owner to give it back if it has to be created again

  const pid = (): number | undefined => {
    const p = readPid(pidFile);
    return p !== undefined && processAlive(p) ? p : undefined;
  };

  const waitFor = async (cond: () => Promise<boolean> | boolean, ms: number): Promise<boolean> => {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) return false;
      await sleep(50);
    }
    return true;
  };

  const stop = async (): Promise<void> => {
    const p = pid();
    if (p === undefined) throw new Error(`system mosquitto: no live pid in ${pidFile}`);
    process.kill(p, 'SIGTERM');
    const down = await waitFor(async () => !processAlive(p) && !(await serviceAvailable(host, port, 200)), 15_000);
    if (!down) throw new Error(`system mosquitto (pid ${p}) did not exit within 15 s of SIGTERM`);
  };

  const start = async (): Promise<number> => {
    if (!existsSync(runDir)) {
      mkdirSync(runDir, { recursive: true });
      chmodSync(runDir, runDirStat.mode & 0o7777);
      chownSync(runDir, runDirStat.uid, runDirStat.gid);
    }
    const before = readPid(pidFile);
    const logDir = mkdtempSync(join(tmpdir(), 'hopsafe-sysmosq-'));
    const errPath = join(logDir, 'stderr');
    const errFd = openSync(errPath, 'w');
    try {
      // -d: the parent exits once the daemon forked; a file (not a pipe) for stderr so nothing waits on the daemon
      const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', errFd], timeout: 10_000 });
      const started = await waitFor(async () => {
        const p = pid();
        return p !== undefined && p !== before && (await serviceAvailable(host, port, 200));
      }, 10_000);
      if (!started) {
        throw new Error(`system mosquitto did not come back ("${argv.join(' ')}" exited ${String(r.status)}): ${readFileSync(errPath, 'utf8')}`);
      }
      return pid()!;
    } finally {
      closeSync(errFd);
      rmSync(logDir, { recursive: true, force: true });
    }
  };

  const ensureRunning = async (): Promise<void> => {
    if (await serviceAvailable(host, port, 500)) return;
    const p = readPid(pidFile);
    if (p !== undefined) await waitFor(() => !processAlive(p), 15_000); // still shutting down
    if (await serviceAvailable(host, port, 500)) return;
    await start();
  };

  return { url, pid, alive: processAlive, stop, start, ensureRunning };
}
