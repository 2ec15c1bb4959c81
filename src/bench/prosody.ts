/**
 * A private Prosody for the XMPP row of the E2E benchmark: own config, data and log in a temp dir,
 * c2s on a free loopback port, plaintext auth on loopback, no s2s/http/TLS. A trimmed copy of
 * test/helpers/prosody.ts (src/ cannot import test helpers; built code runs from dist/).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, reachable } from './net.js';

export interface BenchProsody {
  readonly service: string;
  readonly domain: 'localhost';
  register(username: string, password: string): void;
  stop(): Promise<void>;
}

const BIN = ['/usr/bin/prosody', '/usr/local/bin/prosody'];

/** Undefined when Prosody is not installed (the row is then skipped with that reason). */
export function prosodyBinary(): string | undefined {
  return BIN.find((p) => existsSync(p));
}

function runAs(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'prosody'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'prosody'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

function chownR(path: string, ids: { uid: number; gid: number }): void {
  chownSync(path, ids.uid, ids.gid);
  if (statSync(path).isDirectory()) for (const n of readdirSync(path)) chownR(join(path, n), ids);
}

const lua = (s: string): string => JSON.stringify(s);

export async function startBenchProsody(): Promise<BenchProsody> {
  const bin = prosodyBinary();
  if (!bin) throw new Error('prosody is not installed (scripts/ci/install-prosody.sh)');
  const ids = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'hopsafe-bench-prosody-'));
  const data = join(dir, 'data');
  const config = join(dir, 'prosody.cfg.lua');
  const port = await freePort();
  writeFileSync(
    config,
    [
      `pidfile = ${lua(join(dir, 'prosody.pid'))}`,
      `data_path = ${lua(data)}`,
      'plugin_paths = { }',
      'admins = { }',
      'interfaces = { "127.0.0.1" }',
      `c2s_ports = { ${port} }`,
      'c2s_direct_tls_ports = { }',
      'legacy_ssl_ports = { }',
      's2s_ports = { }',
      'component_ports = { }',
      'http_ports = { }',
      'https_ports = { }',
      'modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; }',
      'modules_disabled = { "s2s"; "s2s_auth_certs"; }',
      'authentication = "internal_plain"',
      'storage = "internal"',
      'c2s_require_encryption = false',
      's2s_require_encryption = false',
      'allow_unencrypted_plain_auth = true',
      'allow_registration = false',
      `log = { { levels = { min = "warn" }, to = "file", filename = ${lua(join(dir, 'prosody.log'))} } }`,
      'VirtualHost "localhost"',
      '',
    ].join('\n'),
  );
  mkdirSync(data);
  mkdirSync(join(dir, 'certs'));
  writeFileSync(join(dir, 'prosody.log'), '');
  if (ids) chownR(dir, ids);
  // Accounts in the internal_plain storage format prosodyctl writes ({data}/localhost/accounts/{user}.dat).
  const register = (username: string, password: string): void => {
    const accounts = join(data, 'localhost', 'accounts');
    mkdirSync(accounts, { recursive: true });
    const file = join(accounts, `${username.toLowerCase().replace(/\W/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}.dat`);
    writeFileSync(file, `return {\n\t["password"] = ${lua(password)};\n};\n`);
    if (ids) chownR(join(data, 'localhost'), ids);
  };
  let child: ChildProcess | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
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
    const c = spawn(bin, ['-F', '--config', config], { stdio: 'ignore', ...(ids ?? {}) });
    child = c;
    const deadline = Date.now() + 10_000;
    while (!(await reachable('127.0.0.1', port, 200))) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`prosody exited (${String(c.exitCode ?? c.signalCode)})`);
      if (Date.now() > deadline) throw new Error(`prosody did not listen on ${port} within 10 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { service: `xmpp://127.0.0.1:${port}`, domain: 'localhost', register, stop };
}
