/**
 * Starts a private Mosquitto process (separate from the system one on 1883) on a free port with a
 * config built from examples/mosquitto/mosquitto.conf, for ACL tests. Skips when the binary is absent
 * (fails under HOPSAFE_REQUIRE_SERVICES=1, via requireOrSkip).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
