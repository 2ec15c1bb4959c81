import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../../src/broker/index.js';
import { createTestPki } from '../../src/testing/index.js';

interface Peer {
  proc: ChildProcessWithoutNullStreams;
  events: Record<string, unknown>[];
  next(pred: (e: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  write(o: unknown): void;
  exit: Promise<number | null>;
}

// `npm test` builds first; run the compiled CLI as a user would (tsx only when there is no build).
const CLI = existsSync('dist/cli/main.js') ? ['dist/cli/main.js'] : ['--import', 'tsx', 'src/cli/main.ts'];

function startPeer(args: string[]): Peer {
  const proc = spawn(process.execPath, [...CLI, 'peer', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const events: Record<string, unknown>[] = [];
  const waiters: { pred: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }[] = [];
  createInterface({ input: proc.stdout }).on('line', (l) => {
    const e = JSON.parse(l) as Record<string, unknown>;
    events.push(e);
    for (const w of [...waiters]) if (w.pred(e)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(e);
    }
  });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += String(d)));
  const exit = new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
  return {
    proc,
    events,
    exit,
    write: (o) => proc.stdin.write(typeof o === 'string' ? `${o}\n` : `${JSON.stringify(o)}\n`),
    next: (pred, ms = 60_000) =>
      new Promise((resolve, reject) => {
        const hit = events.find(pred);
        if (hit) return resolve(hit);
        const t = setTimeout(() => reject(new Error(`timeout; events: ${JSON.stringify(events)} stderr: ${stderr}`)), ms);
        waiters.push({ pred, resolve: (e) => (clearTimeout(t), resolve(e)) });
      }),
  };
}

test('hopsafe peer: JSON lines in, events out, bad input reported, clean exit on EOF', async () => {
  const broker = await startBroker();
  const dir = await mkdtemp(join(tmpdir(), 'hopsafe-peer-'));
  try {
    const pki = await createTestPki({ endpoints: [{ id: 'control-center', roles: ['OPERATOR'] }, { id: 'der-17', roles: ['VIEWER'] }] });
    await writeFile(join(dir, 'ca.pem'), pki.roots.join('\n'));
    for (const [id, ident] of Object.entries(pki.identities)) {
      await writeFile(join(dir, `${id}.pem`), ident.certificate);
      await writeFile(join(dir, `${id}.key`), ident.privateKey);
    }
    const args = (id: string) => ['--id', id, '--cert', join(dir, `${id}.pem`), '--key', join(dir, `${id}.key`), '--trust', join(dir, 'ca.pem'), '--url', broker.url];
    const cc = startPeer(args('control-center'));
    const der = startPeer([...args('der-17'), '--protection', 'integrity']);
    await cc.next((e) => e.event === 'ready');
    await der.next((e) => e.event === 'ready');
    der.write({ to: 'control-center', data: Buffer.from('P=4.2MW').toString('base64') });
    const m = await cc.next((e) => e.event === 'message');
    assert.equal(m.from, 'der-17');
    assert.equal(Buffer.from(String(m.data), 'base64').toString(), 'P=4.2MW');
    assert.deepEqual(m.roles, ['VIEWER']);
    await der.next((e) => e.event === 'session');
    cc.write({ rekey: 'der-17' });
    await cc.next((e) => e.event === 'rekeyed');
    cc.write({ to: 'der-17', data: Buffer.from('setpoint').toString('base64') });
    const back = await der.next((e) => e.event === 'message');
    assert.equal(Buffer.from(String(back.data), 'base64').toString(), 'setpoint');
    // [SPEC 7.6] "confirm": the event comes once the peer acknowledged it end to end
    cc.write({ to: 'der-17', data: Buffer.from('confirmed setpoint').toString('base64'), confirm: true });
    await der.next((e) => e.event === 'message' && Buffer.from(String(e.data), 'base64').toString() === 'confirmed setpoint');
    await cc.next((e) => e.event === 'confirmed' && e.to === 'der-17');
    // bad input never crashes the peer
    der.write('this is not json');
    der.write({ to: 'bad/id', data: 'AAAA' });
    der.write({ to: 'control-center', data: '***' });
    der.write({ rekey: 'nobody' });
    const errors = await Promise.all([
      der.next((e) => e.event === 'error' && e.line === 2),
      der.next((e) => e.event === 'error' && e.line === 3),
      der.next((e) => e.event === 'error' && e.line === 4),
      der.next((e) => e.event === 'error' && e.line === 5),
    ]);
    assert.deepEqual(errors.map((e) => e.code), ['ERR_INPUT', 'ERR_INPUT', 'ERR_INPUT', 'ERR_UNKNOWN_SESSION']);
    der.proc.stdin.end();
    cc.proc.stdin.end();
    assert.equal(await der.exit, 0);
    assert.equal(await cc.exit, 0);
    assert.ok(der.events.some((e) => e.event === 'closed'));
  } finally {
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  }
});
