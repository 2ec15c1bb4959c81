/**
 * Starts a private Prosody (XMPP server) for one test file: its own config, data and log in a temp dir,
 * c2s on a free loopback port, plaintext auth allowed on loopback, no s2s/http/TLS. [SPEC 8.4]
 * With `tls` (a certificate and key, e.g. from tls-certs.ts): c2s offers and requires STARTTLS
 * (`c2s_require_encryption`, no plaintext auth without TLS) and a second port speaks direct TLS (XEP-0368,
 * `c2s_direct_tls_ports`, Prosody ≥ 0.12).
 *
 * Prosody comes from the Debian package (scripts/ci/install-prosody.sh). When it is not installed,
 * `prosodyInstalled()` is false and XMPP tests skip (fail under HOPSAFE_REQUIRE_SERVICES=1).
 * Never run `prosody --version` to probe it: that starts a server.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
  chownSync,
  readdirSync,
  statSync,
  readFileSync,
  copyFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, reachable as serviceAvailable } from './net.js';

export interface ProsodyUser {
  username: string;
  password: string;
}

export interface RunningProsody {
  /** `xmpp://127.0.0.1:{port}` */
  readonly service: string;
  readonly domain: 'localhost';
  readonly port: number;
  /** With `tls`: the direct-TLS port and its `xmpps://127.0.0.1:{port}` service. */
  readonly tlsPort?: number;
  readonly tlsService?: string;
  /** Registers one more account (works while the server runs: internal storage is read per login). */
  register(user: ProsodyUser): Promise<void>;
  /** Tail of Prosody's log (for failure messages). */
  log(): string;
  /** Kills the server and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

const PROSODY_BIN = ['/usr/bin/prosody', '/usr/local/bin/prosody'];

function which(names: string[]): string | undefined {
  return names.find((p) => existsSync(p));
}

/** True when the prosody and prosodyctl binaries are installed. */
export function prosodyInstalled(): boolean {
  return which(PROSODY_BIN) !== undefined && which(PROSODY_BIN.map((p) => `${p}ctl`)) !== undefined;
}

/** When running as root, Prosody (mod_posix) refuses to run: run it, and its files, as user `prosody`. */
function runAs(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'prosody'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'prosody'], { encoding: 'utf8' }).trim());
    if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
  } catch {
    /* no such user */
  }
  throw new Error("running as root but there is no 'prosody' user to run Prosody as (install the prosody package)");
}

function chownR(path: string, ids: { uid: number; gid: number }): void {
  chownSync(path, ids.uid, ids.gid);
  if (statSync(path).isDirectory()) for (const n of readdirSync(path)) chownR(join(path, n), ids);
}

function luaString(s: string): string {
  return JSON.stringify(s); // JSON string escapes are valid Lua string escapes for the characters we use
}

function run(cmd: string, args: string[], ids: { uid: number; gid: number } | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(ids ?? {}) });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${out}`))));
  });
}

export interface ProsodyOptions {
  users?: ProsodyUser[];
  /** Extra modules to enable, e.g. ['smacks'] for XEP-0198 stream management. */
  modules?: string[];
  /** PEM certificate and key files for c2s TLS: STARTTLS offered and required on `port`, direct TLS on `tlsPort`. */
  tls?: { cert: string; key: string };
}

export async function startProsody(opts: ProsodyOptions = {}): Promise<RunningProsody> {
  const bin = which(PROSODY_BIN);
  const ctl = which(PROSODY_BIN.map((p) => `${p}ctl`));
  if (!bin || !ctl) throw new Error('prosody is not installed (run scripts/ci/install-prosody.sh)');
  const ids = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'hopsafe-prosody-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'prosody.log');
  const config = join(dir, 'prosody.cfg.lua');
  const port = await freePort();
  const tlsPort = opts.tls ? await freePort() : undefined;
  const certs = join(dir, 'certs');
  const certFile = join(certs, 'localhost.crt');
  const keyFile = join(certs, 'localhost.key');
  const tlsLines = opts.tls
    ? [
        `ssl = { certificate = ${luaString(certFile)}; key = ${luaString(keyFile)}; }`,
        `c2s_direct_tls_ports = { ${tlsPort} }`,
        'c2s_require_encryption = true',
        'allow_unencrypted_plain_auth = false',
      ]
    : ['c2s_direct_tls_ports = { }', 'c2s_require_encryption = false', 'allow_unencrypted_plain_auth = true'];
  writeFileSync(
    config,
    [
      '-- generated by test/support/prosody.ts',
      `pidfile = ${luaString(join(dir, 'prosody.pid'))}`,
      `data_path = ${luaString(data)}`,
      'plugin_paths = { }',
      'admins = { }',
      'interfaces = { "127.0.0.1" }',
      `c2s_ports = { ${port} }`,
      'legacy_ssl_ports = { }',
      's2s_ports = { }',
      'component_ports = { }',
      'http_ports = { }',
      'https_ports = { }',
      // Core modules (presence, message, iq, offline, c2s) are autoloaded; keep the rest minimal.
      `modules_enabled = { ${['roster', 'saslauth', 'disco', 'ping', ...(opts.tls ? ['tls'] : []), ...(opts.modules ?? [])].map((m) => `${luaString(m)};`).join(' ')} }`,
      'modules_disabled = { "s2s"; "s2s_auth_certs"; }',
      'authentication = "internal_plain"',
      'storage = "internal"',
      ...tlsLines,
      's2s_require_encryption = false',
      'allow_registration = false',
      // [SPEC 8.4] TCP_NODELAY on client connections (Prosody's default keeps Nagle on): a stanza that ends a burst
      // would otherwise wait for the client's delayed TCP acknowledgement.
      'network_settings = { nagle = false }',
      // Prosody reads 4 KiB per read by default and then waits for its next timer tick (≥ 1 ms) while more is
      // buffered: a cap of a few MB/s per connection. Read up to 64 KiB at a time.
      'network_default_read_size = 65536',
      `log = { { levels = { min = "info" }, to = "file", filename = ${luaString(logFile)} } }`,
      'VirtualHost "localhost"',
      '',
    ].join('\n'),
  );
  // mkdtemp makes the dir 0700: hand it (config, data, log) to the prosody user when we run as root.
  mkdirSync(data);
  mkdirSync(certs); // without tls: silences certmanager
  if (opts.tls) {
    // copies in the dir handed to the prosody user below (it must read the key)
    copyFileSync(opts.tls.cert, certFile);
    copyFileSync(opts.tls.key, keyFile);
  }
  writeFileSync(logFile, '');
  if (ids) chownR(dir, ids);

  // Accounts: prosodyctl register costs ~0.3 s a process, so printable-ASCII accounts are written directly in
  // the internal storage format prosodyctl would write for `authentication = "internal_plain"`
  // ({data_path}/localhost/accounts/{encoded user}.dat); anything else goes through prosodyctl.
  const register = async (u: ProsodyUser): Promise<void> => {
    if (!/^[\x20-\x7e]+$/.test(u.username) || !/^[\x20-\x7e]*$/.test(u.password))
      return run(ctl, ['--config', config, 'register', u.username, 'localhost', u.password], ids);
    const accounts = join(data, 'localhost', 'accounts');
    mkdirSync(accounts, { recursive: true });
    const file = join(
      accounts,
      `${u.username.toLowerCase().replace(/\W/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}.dat`,
    );
    writeFileSync(file, `return {\n\t["password"] = ${luaString(u.password)};\n};\n`);
    if (ids) chownR(join(data, 'localhost'), ids);
  };
  const readLog = (): string => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n');
    } catch {
      return '';
    }
  };

  let child: ChildProcess | undefined;
  let stopped = false;
  // Safety net: a test process that dies without calling stop() must not leave a Prosody behind.
  const onExit = (): void => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.off('exit', onExit);
    const c = child;
    if (c && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await Promise.all((opts.users ?? []).map(register));
    const c = spawn(bin, ['-F', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], ...(ids ?? {}) });
    child = c;
    let output = '';
    c.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    c.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 10_000;
    const listening = async (): Promise<boolean> =>
      (await serviceAvailable('127.0.0.1', port, 200)) && (tlsPort === undefined || (await serviceAvailable('127.0.0.1', tlsPort, 200)));
    while (!(await listening())) {
      if (c.exitCode !== null || c.signalCode !== null)
        throw new Error(`prosody exited (${c.exitCode ?? c.signalCode}): ${output}\n${readLog()}`);
      if (Date.now() > deadline) throw new Error(`prosody did not listen on ${port} within 10 s\n${readLog()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    service: `xmpp://127.0.0.1:${port}`,
    domain: 'localhost',
    port,
    ...(tlsPort !== undefined ? { tlsPort, tlsService: `xmpps://127.0.0.1:${tlsPort}` } : {}),
    register,
    log: readLog,
    stop,
  };
}
