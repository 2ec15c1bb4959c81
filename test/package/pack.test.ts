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
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  bin: Record<string, string>;
};

let tmp = '';
let app = '';
let mqttOnly = '';
let nativeApp = '';
let nativeFiles: string[] = [];
let tarball = '';
let packed: { size: number; unpackedSize: number; files: { path: string }[] } | undefined;

/**
 * The environment without what `npm test` adds for its script (npm_config_local_prefix would point npm back at the
 * repository); the user's own npm settings (npm_config_cache, _registry, _userconfig, ...) stay.
 */
const cleanEnv = (): Record<string, string> =>
  Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] =>
        e[1] !== undefined && !/^npm_(lifecycle_|package_|command$|config_local_prefix$|config_call$)/i.test(e[0]),
    ),
  );
function run(cmd: string, args: string[], cwd: string, timeout = 60_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: { ...cleanEnv(), NO_UPDATE_NOTIFIER: '1' } });
}
const output = (r: SpawnSyncReturns<string>): string =>
  `exit ${String(r.status)}${r.error ? ` (${r.error.message})` : ''}\n${r.stdout}\n${r.stderr}`;

/** The README's ```ts fences; one that starts with "// continues the example above" is compiled after the one before it. */
function readmeSnippets(readme: string): string[] {
  const fences = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  const out: string[] = [];
  for (const f of fences) out.push(/^\/\/ continues the example above/.test(f) && out.length > 0 ? `${out[out.length - 1]}\n${f}` : f);
  return out;
}

type LockEntry = {
  dev?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};

/** The lock paths of `names` and of everything they need, resolved as npm lays out node_modules (nested first). */
function closure(lock: Record<string, LockEntry>, names: readonly string[]): Set<string> {
  const out = new Set<string>();
  const resolve = (from: string, dep: string): string | undefined => {
    for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf('/node_modules/')))) {
      const p = `${dir ? `${dir}/` : ''}node_modules/${dep}`;
      if (lock[p]) return p;
      if (!dir) return undefined;
    }
  };
  const queue: [string, string][] = names.map((n) => ['', n]);
  for (let next = queue.shift(); next; next = queue.shift()) {
    const p = resolve(next[0], next[1]);
    if (p === undefined || out.has(p)) continue;
    out.add(p);
    const e = lock[p]!;
    const peers = Object.keys(e.peerDependencies ?? {}).filter((d) => !e.peerDependenciesMeta?.[d]?.optional);
    for (const d of [...Object.keys(e.dependencies ?? {}), ...Object.keys(e.optionalDependencies ?? {}), ...peers]) queue.push([p, d]);
  }
  return out;
}

/** The optional accelerator's package (packages/native-aead, an npm workspace). */
const nativePkg = JSON.parse(readFileSync(join(ROOT, 'packages', 'native-aead', 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
};

/**
 * A project with the tarball plus `peers`, installed with `npm ci --offline` from a lockfile made of the repository's.
 * With `native` (the accelerator's tarball) it gets that package too, and its install script runs in `env`.
 */
function scratchProject(
  dir: string,
  tarballName: string,
  peers: readonly string[],
  native?: { tarball: string; env: Record<string, string> },
): void {
  mkdirSync(dir);
  const dep = `file:../${tarballName}`;
  const lock = (JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }).packages;
  const rootLock = lock[''] as { devDependencies: Record<string, string> };
  const deps: Record<string, string> = {
    [pkg.name]: dep,
    ...Object.fromEntries(peers.map((p) => [p, rootLock.devDependencies[p] ?? '*'])),
  };
  if (native) deps[nativePkg.name] = `file:../${native.tarball}`;
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'scratch', version: '1.0.0', private: true, type: 'module', dependencies: deps }),
  );
  const packages: Record<string, unknown> = {
    '': { name: 'scratch', version: '1.0.0', dependencies: deps },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: dep,
      license: 'Apache-2.0',
      dependencies: pkg.dependencies,
      peerDependencies: pkg.peerDependencies,
      peerDependenciesMeta: pkg.peerDependenciesMeta,
      bin: pkg.bin,
      engines: { node: '>=20' },
    },
  };
  const needs = [...Object.keys(pkg.dependencies), ...peers];
  if (native) {
    packages[`node_modules/${nativePkg.name}`] = {
      version: nativePkg.version,
      resolved: deps[nativePkg.name],
      license: 'Apache-2.0',
      dependencies: nativePkg.dependencies,
      hasInstallScript: true,
      engines: { node: '>=20' },
    };
    needs.push(...Object.keys(nativePkg.dependencies));
  }
  for (const path of closure(lock, needs)) packages[path] = { ...lock[path], dev: undefined };
  writeFileSync(
    join(dir, 'package-lock.json'),
    JSON.stringify({ name: 'scratch', version: '1.0.0', lockfileVersion: 3, requires: true, packages }),
  );
  const i = native
    ? spawnSync(NPM, ['ci', '--offline', '--no-audit', '--no-fund'], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 90_000,
        env: { ...cleanEnv(), NO_UPDATE_NOTIFIER: '1', ...native.env },
      })
    : run(NPM, ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], dir, 90_000);
  assert.equal(i.status, 0, `npm ci --offline in ${dir} (needs the npm cache \`npm ci\` fills): ${output(i)}`);
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
    const info = (
      JSON.parse(p.stdout.slice(p.stdout.indexOf('['))) as Array<{
        filename: string;
        size: number;
        unpackedSize: number;
        files: { path: string }[];
      }>
    )[0]!;
    packed = info;
    tarball = join(tmp, info.filename);

    // 2. a scratch project with the tarball and every optional peer the README's snippets use, installed offline
    app = join(tmp, 'app');
    scratchProject(app, info.filename, ['mqtt', 'amqplib', '@xmpp/client', 'aedes', 'aedes-persistence', 'ws', '@nats-io/transport-node']);
    // and one with hopsafe and mqtt alone (issue 17: the transports' client libraries are optional peer dependencies)
    mqttOnly = join(tmp, 'mqtt-only');
    scratchProject(mqttOnly, info.filename, ['mqtt']);
    // and one with the optional accelerator's tarball (its prepack builds and copies the prebuilt binary), installed
    // with scripts on and no working C compiler: only the prebuilt binary can make it load (SPEC 4.4)
    const np = run(NPM, ['pack', '-w', nativePkg.name, '--json', '--pack-destination', tmp], repo, 120_000);
    assert.equal(np.status, 0, `npm pack -w ${nativePkg.name}: ${output(np)}`);
    const nInfo = (JSON.parse(np.stdout.slice(np.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[])[0]!;
    nativeFiles = nInfo.files.map((f) => f.path);
    nativeApp = join(tmp, 'native');
    scratchProject(nativeApp, info.filename, [], { tarball: nInfo.filename, env: { CC: '/bin/false', CXX: '/bin/false' } });

    // 3. the README's snippets, compiled under strict + skipLibCheck false, and a CommonJS user
    readmeSnippets(readFileSync(join(ROOT, 'README.md'), 'utf8')).forEach((s, n) => {
      writeFileSync(join(app, `snippet-${n}.ts`), s);
    });
    writeFileSync(
      join(app, 'require.cts'),
      "import hopsafe = require('hopsafe');\nconsole.log(typeof hopsafe.createEndpoint, hopsafe.ERROR_CODES.length > 0);\n",
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          skipLibCheck: false,
          outDir: 'out',
          rootDir: '.',
        },
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
  for (const f of [
    'package.json',
    'README.md',
    'LICENSE',
    'SPEC.md',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/cli/main.js',
    'dist/bindings/amqp.d.ts',
    'schemas/policy.schema.json',
    'docs/threats.md',
    'docs/deploy.md',
    'examples/mosquitto/mosquitto.conf',
    'examples/mqtt-telemetry/main.ts',
    'examples/xmpp-mqtt-bridge/main.ts',
    'examples/ci-interop/workflow.yml',
    'examples/ci-interop/interop.mjs',
    'dist/adversary/index.js',
  ])
    assert.ok(files.has(f), `${f} is in the tarball`);
  assert.deepEqual(
    [...files].filter((f) => /^(src|test|bench|scripts|node_modules)\//.test(f)),
    [],
    'no sources, tests or scripts',
  );
  assert.deepEqual(
    [...files].filter((f) => f.endsWith('.map')),
    [],
    'no source maps (they would point at src/, which is not shipped)',
  );
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

test('the hopsafe/adversary snippet runs as written: the tampered and the replayed record are refused, the rest delivered once', () => {
  const n = readmeSnippets(readFileSync(join(ROOT, 'README.md'), 'utf8')).findIndex((s) => s.includes('createAdversary('));
  assert.ok(n >= 0, 'a README snippet uses createAdversary');
  const r = run(process.execPath, [join(app, 'out', `snippet-${n}.js`)], app, 30_000);
  assert.equal(r.status, 0, output(r));
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(
    lines.filter((l) => l.startsWith('delivered')),
    ['delivered m0', 'delivered m2', 'delivered m3'],
  );
  assert.deepEqual(lines.filter((l) => l.startsWith('refused')).sort(), ['refused ERR_BAD_MAC', 'refused ERR_REPLAY']);
  assert.equal(lines.at(-1), '1 1');
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
test('CommonJS: require("hopsafe") works (Node ≥ 20.19, TypeScript module nodenext)', {
  skip: major === 20 && minor < 19 ? `Node ${process.version} has no require(esm)` : false,
}, () => {
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

test('hopsafe plus mqtt alone: hopsafe, hopsafe/mqtt, /memory and /testing work; /amqp, /xmpp and /broker fail with ERR_CONFIG naming the package', () => {
  const code = `
import { createEndpoint, isHopsafeError } from 'hopsafe';
import { mqttTransport } from 'hopsafe/mqtt';
import { createMemoryHub } from 'hopsafe/memory';
import { createTestPki } from 'hopsafe/testing';
const pki = await createTestPki({ endpoints: [{ id: 'a' }, { id: 'b' }] });
const hub = createMemoryHub();
const open = (id) => createEndpoint({ id, identity: pki.identities[id], trust: pki.trust(), transport: hub.transport() });
const [a, b] = await Promise.all([open('a'), open('b')]);
const got = new Promise((r) => b.on('message', (m) => r(new TextDecoder().decode(m.data))));
await a.send('b', new TextEncoder().encode('hi'), { confirm: true });
console.log('memory', await got, typeof mqttTransport({ url: 'mqtt://127.0.0.1:1883' }).send);
await a.close(); await b.close();
for (const sub of ['hopsafe/amqp', 'hopsafe/xmpp', 'hopsafe/broker', 'hopsafe/bridge']) {
  try { await import(sub); console.log(sub, 'ok'); }
  catch (e) { console.log(sub, isHopsafeError(e) ? e.code : 'not a HopsafeError', String(e.message).match(/needs the package "([^"]+)"/)?.[1]); }
}`;
  writeFileSync(join(mqttOnly, 'try.mjs'), code);
  const r = run(process.execPath, ['--no-warnings', 'try.mjs'], mqttOnly, 60_000);
  assert.equal(r.status, 0, output(r));
  assert.equal(
    r.stdout.trim(),
    [
      'memory hi function',
      'hopsafe/amqp ERR_CONFIG amqplib',
      'hopsafe/xmpp ERR_CONFIG @xmpp/client',
      'hopsafe/broker ERR_CONFIG aedes-persistence',
      'hopsafe/bridge ok',
    ].join('\n'),
  );
  for (const p of ['amqplib', '@xmpp/client', 'aedes', 'aedes-persistence'])
    assert.ok(!existsSync(join(mqttOnly, 'node_modules', p)), `${p} not installed`);
});

test('hopsafe plus mqtt alone: the bin runs an MQTT-only command and says which package an AMQP URL needs', () => {
  const bin = join(mqttOnly, 'node_modules', '.bin', 'hopsafe');
  const h = run(bin, ['peer', '--help'], mqttOnly, 30_000);
  assert.equal(h.status, 0, output(h));
  const dir = join(mqttOnly, 'pki');
  const init = run(bin, ['pki', 'init', '--dir', dir, '--endpoint', 'a'], mqttOnly, 30_000);
  assert.equal(init.status, 0, output(init));
  const p = run(
    bin,
    [
      'peer',
      '--id',
      'a',
      '--cert',
      join(dir, 'a.pem'),
      '--key',
      join(dir, 'a.key'),
      '--trust',
      join(dir, 'ca.pem'),
      '--url',
      'amqp://127.0.0.1:9',
    ],
    mqttOnly,
    30_000,
  );
  assert.equal(p.status, 1, output(p));
  assert.match(p.stderr, /ERR_CONFIG.*needs the package "amqplib".*npm install amqplib/);
});

test('[SPEC 4.4] the accelerator installs offline from its tarball alone with no C compiler (prebuilt binary) and hopsafe uses it', () => {
  assert.ok(
    nativeFiles.includes(`prebuilds/${process.platform}-${process.arch}/node.napi.node`),
    `prebuilt binary in ${nativeFiles.join(', ')}`,
  );
  assert.ok(
    nativeFiles.includes('src/aead.c') && nativeFiles.includes('binding.gyp'),
    'the source, for platforms without a prebuilt binary',
  );
  assert.ok(!nativeFiles.some((f) => f.startsWith('build/')), 'no build directory');
  const installed = join(nativeApp, 'node_modules', '@hopsafe', 'native-aead');
  assert.ok(existsSync(installed));
  assert.ok(!existsSync(join(installed, 'build')), 'nothing was compiled at install (CC and CXX were /bin/false)');
  const script = `
    import { createNodeProvider, nativeAeadStatus } from 'hopsafe/crypto';
    const accel = createNodeProvider({ native: true }), plain = createNodeProvider({ native: false });
    const k = new Uint8Array(16).fill(1), n = new Uint8Array(12).fill(2), m = new Uint8Array(300).fill(3);
    const a = Buffer.from(accel.aeadSeal('aes-128-gcm', k, n, m, m)), b = Buffer.from(plain.aeadSeal('aes-128-gcm', k, n, m, m));
    console.log(JSON.stringify({ status: nativeAeadStatus(), same: a.equals(b) }));`;
  const r = run(process.execPath, ['--input-type=module', '-e', script], nativeApp);
  assert.equal(r.status, 0, output(r));
  const got = JSON.parse(r.stdout.trim()) as { status: { loaded: boolean; reason?: string }; same: boolean };
  assert.equal(got.status.loaded, true, `loaded (${got.status.reason})`);
  assert.equal(got.same, true, 'same bytes as node:crypto');
});
