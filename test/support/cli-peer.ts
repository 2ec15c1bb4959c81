/**
 * `hopsafe peer` as a child process (the built dist/cli/main.js when there is one, else src via tsx — as
 * test/cli/peer.test.ts runs it), with its JSON-line events, stderr and exit code, plus a throw-away hopsafe PKI on disk.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestPki, type TestEndpointSpec } from '../../src/testing/index.js';

export const CLI = existsSync('dist/cli/main.js') ? ['dist/cli/main.js'] : ['--import', 'tsx', 'src/cli/main.ts'];

export interface CliPeer {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly events: Record<string, unknown>[];
  stdout(): string;
  stderr(): string;
  next(pred: (e: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  write(o: unknown): void;
  readonly exit: Promise<number | null>;
}

export function startCliPeer(args: string[], env: NodeJS.ProcessEnv = process.env): CliPeer {
  const proc = spawn(process.execPath, [...CLI, 'peer', ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
  const events: Record<string, unknown>[] = [];
  const waiters: { pred: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }[] = [];
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => (out += String(d)));
  proc.stderr.on('data', (d) => (err += String(d)));
  createInterface({ input: proc.stdout }).on('line', (l) => {
    const e = JSON.parse(l) as Record<string, unknown>;
    events.push(e);
    for (const w of [...waiters])
      if (w.pred(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
  });
  const exit = new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
  return {
    proc,
    events,
    exit,
    stdout: () => out,
    stderr: () => err,
    write: (o) => proc.stdin.write(typeof o === 'string' ? `${o}\n` : `${JSON.stringify(o)}\n`),
    next: (pred, ms = 60_000) =>
      new Promise((resolve, reject) => {
        const hit = events.find(pred);
        if (hit) return resolve(hit);
        const t = setTimeout(() => reject(new Error(`timeout; events: ${JSON.stringify(events)} stderr: ${err}`)), ms);
        void exit.then((code) => {
          clearTimeout(t);
          reject(new Error(`peer exited ${code}; events: ${JSON.stringify(events)} stderr: ${err}`));
        });
        waiters.push({ pred, resolve: (e) => (clearTimeout(t), resolve(e)) });
      }),
  };
}

/**
 * Both peers ready, `sender` sends one message (`P=4.2MW`) to `receiverId`, `receiver` gets it from `senderId`; then
 * both stdins end and both exit 0 (a session over the peers' broker options, e.g. TLS and credentials).
 */
export async function oneMessageThenExit(sender: CliPeer, senderId: string, receiver: CliPeer, receiverId: string): Promise<void> {
  await sender.next((e) => e.event === 'ready');
  await receiver.next((e) => e.event === 'ready');
  sender.write({ to: receiverId, data: Buffer.from('P=4.2MW').toString('base64') });
  const m = await receiver.next((e) => e.event === 'message');
  assert.equal(m.from, senderId);
  assert.equal(Buffer.from(String(m.data), 'base64').toString(), 'P=4.2MW');
  sender.proc.stdin.end();
  receiver.proc.stdin.end();
  assert.equal(await sender.exit, 0, sender.stderr());
  assert.equal(await receiver.exit, 0, receiver.stderr());
}

/**
 * A hopsafe test PKI written to a temp dir and the `hopsafe peer` identity arguments for one of its ids. An endpoint
 * is an id, or a spec with its roles.
 */
export async function cliPeerFixture(
  endpoints: readonly (string | TestEndpointSpec)[],
): Promise<{ dir: string; args(id: string, url: string): string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'hopsafe-peer-'));
  const pki = await createTestPki({ endpoints: endpoints.map((e) => (typeof e === 'string' ? { id: e } : e)) });
  await writeFile(join(dir, 'ca.pem'), pki.roots.join('\n'));
  for (const [id, ident] of Object.entries(pki.identities)) {
    await writeFile(join(dir, `${id}.pem`), ident.certificate);
    await writeFile(join(dir, `${id}.key`), ident.privateKey);
  }
  return {
    dir,
    args: (id, url) => [
      '--id',
      id,
      '--cert',
      join(dir, `${id}.pem`),
      '--key',
      join(dir, `${id}.key`),
      '--trust',
      join(dir, 'ca.pem'),
      '--url',
      url,
    ],
  };
}
