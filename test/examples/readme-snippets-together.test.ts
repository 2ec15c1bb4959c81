/**
 * README's first usage snippet (the control center, with its "continues the example above" confirmation part) and
 * its policy snippet (der-17) run together as written (issue 16, second trial: the policy JSON.parsed what the first
 * snippet sent as plain text). Only the broker URL is replaced (an embedded broker) and `hopsafe` imports point at
 * dist/; the PKI is what `hopsafe pki init` writes for the command in the snippet's comment. [SPEC 8.7]
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startBroker } from '../../src/broker/index.js';
import { ensureBuilt, ROOT } from './run-example.js';

const tmp = mkdtempSync(join(tmpdir(), 'hopsafe-readme-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const EXPORTS = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { default?: string }> }).exports;

const fences = (readme: string): string[] => [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
/** The snippet with `hopsafe[/x]` imports pointing at the built files and the broker URL replaced. */
const runnable = (code: string, url: string): string =>
  code
    .replace(
      /from 'hopsafe(\/[a-z]+)?'/g,
      (_m, sub: string | undefined) => `from '${pathToFileURL(join(ROOT, EXPORTS[`.${sub ?? ''}`]!.default!)).href}'`,
    )
    .replaceAll('mqtt://broker.example:1883', url);

test('[SPEC 8.7] README: the control-center snippet and the der-17 policy snippet run together; the setpoints pass the policy and are confirmed', {
  timeout: 120_000,
}, async () => {
  await ensureBuilt();
  const snippets = fences(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  const first = snippets.findIndex((s) => s.includes("id: 'control-center'"));
  const cc = snippets[first]!;
  const confirm = snippets[first + 1]!;
  const der = snippets.find((s) => s.includes("id: 'der-17'") && s.includes('policy:'));
  assert.ok(
    cc.includes('hopsafe pki init --dir pki --endpoint control-center:OPERATOR --endpoint der-17'),
    'the PKI command in the first snippet',
  );
  assert.ok(confirm.startsWith('// continues the example above') && der, 'the confirmation and policy snippets');
  const pki = spawnSync(
    process.execPath,
    [
      join(ROOT, 'dist/cli/main.js'),
      'pki',
      'init',
      '--dir',
      join(tmp, 'pki'),
      '--endpoint',
      'control-center:OPERATOR',
      '--endpoint',
      'der-17',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(pki.status, 0, pki.stderr);

  const broker = await startBroker();
  try {
    // the confirmation part goes before cc.close(), as its comment says
    const closing = 'await cc.close();';
    assert.ok(cc.trimEnd().endsWith(closing));
    writeFileSync(join(tmp, 'cc.mts'), runnable(`${cc.trimEnd().slice(0, -closing.length)}\n${confirm}\n${closing}\n`, broker.url));
    writeFileSync(join(tmp, 'der.mts'), runnable(der!, broker.url));
    const derProc = spawn(process.execPath, ['--import', TSX, 'der.mts'], { cwd: tmp });
    let derOut = '';
    derProc.stdout.on('data', (d) => (derOut += String(d)));
    derProc.stderr.on('data', (d) => (derOut += String(d)));
    try {
      // der-17 connected (its transport subscribes its inbox before createEndpoint resolves), then a little more
      for (let i = 0; i < 200 && derProc.exitCode === null && broker.connectedClients() === 0; i++)
        await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 500));
      const ccRun = await new Promise<{ code: number | null; out: string }>((resolve) => {
        const p = spawn(process.execPath, ['--import', TSX, 'cc.mts'], { cwd: tmp });
        let out = '';
        p.stdout.on('data', (d) => (out += String(d)));
        p.stderr.on('data', (d) => (out += String(d)));
        p.on('exit', (code) => resolve({ code, out }));
      });
      assert.equal(ccRun.code, 0, `control-center snippet: ${ccRun.out}\nder-17: ${derOut}`);
      for (let i = 0; i < 50 && !derOut.includes('2.5'); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(derOut, /control-center \[ 'OPERATOR' \] \{"type":"setpoint","p_mw":3\}/, derOut);
      assert.match(derOut, /control-center \[ 'OPERATOR' \] \{"type":"setpoint","p_mw":2\.5\}/, derOut);
      assert.doesNotMatch(derOut, /refused/, derOut);
    } finally {
      derProc.kill('SIGKILL');
    }
  } finally {
    await broker.close();
  }
});
