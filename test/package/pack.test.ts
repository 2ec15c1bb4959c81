/**
 * The package as a user gets it (issue 16): `npm pack` on a copy of the repository without dist/ (as a
 * fresh clone is: the `prepack` script builds), the tarball installed into a scratch project, the README's
 * TypeScript snippets compiled there under `strict` with `skipLibCheck: false`, the memory-hub snippet run,
 * the JSON Schemas resolved as `hopsafe/schemas/*.json`, `require('hopsafe')` from CommonJS (Node ≥ 20.19)
 * and the installed `hopsafe` bin.
 *
 * Offline, so it works on a CI machine right after `npm ci`: the scratch project gets a lockfile made of the
 * repository's own non-dev lock entries (the tarball's dependency closure), which `npm ci --offline` installs
 * from the npm cache `npm ci` filled. TypeScript is the repository's (it is not a dependency of hopsafe).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string>; bin: Record<string, string> };

let tmp = '';
let app = '';
let tarball = '';
let packed: { size: number; unpackedSize: number; files: { path: string }[] } | undefined;

function run(cmd: string, args: string[], cwd: string, timeout = 60_000): SpawnSyncReturns<string> {
  // without what `npm test` adds for its script (npm_config_local_prefix would point npm back at the repository);
  // the user's own npm settings (npm_config_cache, _registry, _userconfig, ...) stay
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_(lifecycle_|package_|command$|config_local_prefix$|config_call$)/i.test(k)));
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: { ...env, NO_UPDATE_NOTIFIER: '1' } });
}
const output = (r: SpawnSyncReturns<string>): string => `exit ${String(r.status)}${r.error ? ` (${r.error.message})` : ''}\n${r.stdout}\n${r.stderr}`;

/** The README's ```ts fences; one that starts with "// continues the example above" is compiled after the one before it. */
function readmeSnippets(readme: string): string[] {
  const fences = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  const out: string[] = [];
  for (const f of fences) out.push(/^\/\/ continues the example above/.test(f) && out.length > 0 ? `${out[out.length - 1]}\n${f}` : f);
  return out;
}

before(
  () => {
    tmp = mkdtempSync(join(tmpdir(), 'hopsafe-pack-'));
    // 1. a copy of the repository as a fresh clone has it: no dist/ (node_modules linked, for the build)
    const repo = join(tmp, 'repo');
    cpSync(ROOT, repo, {
      recursive: true,
      filter: (src) => !['node_modules', 'dist', '.git'].includes(relative(ROOT, src).split(/[\\/]/)[0] ?? ''),
    });
    symlinkSync(join(ROOT, 'node_modules'), join(repo, 'node_modules'), 'dir');
    const p = run(NPM, ['pack', '--json', '--pack-destination', tmp], repo, 90_000);
    assert.equal(p.status, 0, `npm pack: ${output(p)}`);
    const info = (JSON.parse(p.stdout.slice(p.stdout.indexOf('['))) as Array<{ filename: string; size: number; unpackedSize: number; files: { path: string }[] }>)[0]!;
    packed = info;
    tarball = join(tmp, info.filename);

    // 2. a scratch project with the tarball, installed offline from the npm cache
    app = join(tmp, 'app');
    mkdirSync(app);
    const dep = `file:../${info.filename}`;
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', private: true, type: 'module', dependencies: { [pkg.name]: dep } }));
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const packages: Record<string, unknown> = {
      '': { name: 'scratch', version: '1.0.0', dependencies: { [pkg.name]: dep } },
      [`node_modules/${pkg.name}`]: { version: pkg.version, resolved: dep, license: 'Apache-2.0', dependencies: pkg.dependencies, bin: pkg.bin, engines: { node: '>=20' } },
    };
    for (const [path, entry] of Object.entries(lock.packages)) if (path.startsWith('node_modules/') && !entry.dev) packages[path] = entry;
    writeFileSync(join(app, 'package-lock.json'), JSON.stringify({ name: 'scratch', version: '1.0.0', lockfileVersion: 3, requires: true, packages }));
    const i = run(NPM, ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], app, 90_000);
    assert.equal(i.status, 0, `npm ci --offline in the scratch project (needs the npm cache \`npm ci\` fills): ${output(i)}`);

    // 3. the README's snippets, compiled under strict + skipLibCheck false, and a CommonJS user
    readmeSnippets(readFileSync(join(ROOT, 'README.md'), 'utf8')).forEach((s, n) => writeFileSync(join(app, `snippet-${n}.ts`), s));
    writeFileSync(join(app, 'require.cts'), "import hopsafe = require('hopsafe');\nconsole.log(typeof hopsafe.createEndpoint, hopsafe.ERROR_CODES.length > 0);\n");
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, skipLibCheck: false, outDir: 'out', rootDir: '.' },
        include: ['*.ts', '*.cts'],
      }),
    );
  },
  { timeout: 200_000 },
);

after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('npm pack on a clone without dist/ builds (prepack) and ships the code, types, CLI, LICENSE, schemas, docs and examples — no sources, tests or source maps', (t) => {
  const files = new Set(packed!.files.map((f) => f.path));
  for (const f of ['package.json', 'README.md', 'LICENSE', 'SPEC.md', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/bindings/amqp.d.ts', 'schemas/policy.schema.json', 'docs/threats.md', 'docs/deploy.md', 'examples/mosquitto/mosquitto.conf', 'examples/mqtt-telemetry/main.ts', 'examples/xmpp-mqtt-bridge/main.ts', 'examples/ci-interop/workflow.yml', 'examples/ci-interop/interop.mjs'])
    assert.ok(files.has(f), `${f} is in the tarball`);
  assert.deepEqual([...files].filter((f) => /^(src|test|bench|scripts|node_modules)\//.test(f)), [], 'no sources, tests or scripts');
  assert.deepEqual([...files].filter((f) => f.endsWith('.map')), [], 'no source maps (they would point at src/, which is not shipped)');
  assert.match(readFileSync(join(ROOT, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0, January 2004/);
  assert.ok(existsSync(tarball));
  t.diagnostic(`tarball ${packed!.size} bytes, unpacked ${packed!.unpackedSize} bytes, ${files.size} files`);
});

test("the README's TypeScript snippets compile against the installed package (strict, skipLibCheck false, module nodenext)", () => {
  const snippets = readmeSnippets(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  assert.ok(snippets.length >= 5, `README ts fences: ${snippets.length}`);
  const r = run(process.execPath, [TSC, '-p', app], app, 120_000);
  assert.equal(r.status, 0, `tsc:\n${r.stdout}${r.stderr}`);
});

test('the memory-hub snippet runs as written: cc sends, der-1 receives with the OPERATOR role', () => {
  const n = readmeSnippets(readFileSync(join(ROOT, 'README.md'), 'utf8')).findIndex((s) => s.includes('createMemoryHub('));
  assert.ok(n >= 0, 'a README snippet uses createMemoryHub');
  const r = run(process.execPath, [join(app, 'out', `snippet-${n}.js`)], app, 30_000);
  assert.equal(r.status, 0, output(r));
  assert.match(r.stdout, /^cc \[ 'OPERATOR' \] hello$/m);
});

test('hopsafe/schemas/*.json resolve and import (with { type: "json" })', () => {
  const code =
    "import policy from 'hopsafe/schemas/policy.schema.json' with { type: 'json' };\n" +
    "import { createRequire } from 'node:module';\n" +
    "const path = createRequire(import.meta.url).resolve('hopsafe/schemas/test-vector.schema.json');\n" +
    'console.log(typeof policy, path.endsWith("schemas/test-vector.schema.json"));';
  const r = run(process.execPath, ['--no-warnings', '--input-type=module', '-e', code], app, 30_000);
  assert.equal(r.status, 0, output(r));
  assert.equal(r.stdout.trim(), 'object true');
});

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
test('CommonJS: require("hopsafe") works (Node ≥ 20.19, TypeScript module nodenext)', { skip: major === 20 && minor < 19 ? `Node ${process.version} has no require(esm)` : false }, () => {
  const r = run(process.execPath, ['--no-warnings', join(app, 'out', 'require.cjs')], app, 30_000);
  assert.equal(r.status, 0, output(r));
  assert.equal(r.stdout.trim(), 'function true');
});

test('the installed bin runs: hopsafe --version prints the package version, --help exits 0', () => {
  const bin = join(app, 'node_modules', '.bin', 'hopsafe');
  const v = run(bin, ['--version'], app, 30_000);
  assert.equal(v.status, 0, output(v));
  assert.equal(v.stdout, `${pkg.version}\n`);
  const h = run(bin, ['--help'], app, 30_000);
  assert.equal(h.status, 0, output(h));
  assert.match(h.stdout, /usage: hopsafe <command>/);
});

test('the shipped CI interop script finds the installed hopsafe by name: node_modules/hopsafe/examples/ci-interop/interop.mjs --help', () => {
  const r = run(process.execPath, [join(app, 'node_modules', 'hopsafe', 'examples', 'ci-interop', 'interop.mjs'), '--help'], app, 30_000);
  assert.equal(r.status, 0, output(r));
  assert.match(r.stdout, /usage: node interop\.mjs --pki DIR --url URL/);
});
