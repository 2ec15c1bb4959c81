/**
 * The TypeScript examples compile against the built package as a user's project would (examples/tsconfig.json:
 * strict, noUncheckedIndexedAccess, skipLibCheck false, module nodenext; `hopsafe/*` resolved by the package's own
 * name through package.json "exports").
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ensureBuilt, ROOT } from './run-example.js';

before(() => ensureBuilt(), { timeout: 200_000 });

test('examples/**/*.ts type-check against the built package (tsc -p examples)', { timeout: 120_000 }, () => {
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'examples'), '--listFilesOnly'],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const files = r.stdout.split('\n');
  for (const f of ['examples/mqtt-telemetry/main.ts', 'examples/xmpp-mqtt-bridge/main.ts'])
    assert.ok(
      files.some((l) => l.endsWith(f)),
      `${f} is compiled`,
    );
  assert.ok(
    files.some((l) => l.endsWith('dist/index.d.ts')),
    "'hopsafe' resolves to the built dist/index.d.ts",
  );
  const c = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'examples')], {
    encoding: 'utf8',
  });
  assert.equal(c.status, 0, c.stdout + c.stderr);
});
