/**
 * The README's shell recipe for the conformance kit runs as written (issue 16, second trial: the IUT started before
 * the kit had written its PKI, and `wait $!` waited for an --echo peer that runs until stopped). The block marked
 * `conformance-recipe` is run with `sh` in a scratch directory, `hopsafe` on PATH being the built CLI, with two
 * changes only: a free broker port instead of 18830 (parallel tests) and `--cases` to keep it short. [SPEC Annex C]
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../support/net.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');
const tmp = mkdtempSync(join(tmpdir(), 'hopsafe-readme-kit-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The fenced block after the `conformance-recipe` marker. */
function recipe(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const m = /<!-- conformance-recipe[^>]*-->\n```sh\n([\s\S]*?)\n```/.exec(readme);
  assert.ok(m, 'README.md has the conformance-recipe block');
  return m[1]!;
}

test('[SPEC Annex C] the README conformance recipe runs as written: the kit passes, the IUT is stopped, the shell ends', async () => {
  const port = await freePort();
  let script = recipe();
  assert.ok(script.includes('18830') && script.includes('hopsafe conformance --iut my-der'), 'the recipe as documented');
  script = script
    .replaceAll('18830', String(port))
    .replace('hopsafe conformance --iut my-der', "hopsafe conformance --cases '1.1.1,6.1.*' --iut my-der");
  const bin = join(tmp, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'hopsafe'), `#!/bin/sh\nexec "${process.execPath}" "${MAIN}" "$@"\n`);
  chmodSync(join(bin, 'hopsafe'), 0o755);
  const child = spawn('sh', ['-c', script], {
    cwd: tmp,
    env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` },
    detached: true, // its own process group: stopped as a whole if the test times out
  });
  let out = '';
  child.stdout.on('data', (d) => (out += String(d)));
  child.stderr.on('data', (d) => (out += String(d)));
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 150_000);
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  clearTimeout(timer);
  assert.equal(code, 0, out);
  assert.match(out, /conformance: exit status 0; reports in conformance-report\//, out);
  assert.match(out, /cases: \d+ pass, 0 fail/, out);
  for (const f of ['report.json', 'report.html', 'junit.xml']) assert.ok(existsSync(join(tmp, 'conformance-report', f)), f);
  const iut = readFileSync(join(tmp, 'iut.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string });
  assert.deepEqual(iut.at(-1), { event: 'closed' }, 'the IUT was stopped by the script and closed cleanly');
});
