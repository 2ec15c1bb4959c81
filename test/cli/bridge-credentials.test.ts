/**
 * `hopsafe bridge` with an XMPP side and a missing credential: one clear line, a non-zero exit, and nothing after it
 * (the MQTT side that already opened must not end in an unhandled rejection). [SPEC 8.5]
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { serviceAvailable, requireOrSkip } from '../support/services.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

test('[SPEC 8.5] hopsafe bridge: a missing XMPP password is one line on stderr, exit 1, no unhandled rejection', async (t) => {
  if (!requireOrSkip(t, 'Mosquitto 127.0.0.1:1883', await serviceAvailable('127.0.0.1', 1883))) return;
  const r = spawnSync(
    process.execPath,
    [
      MAIN,
      'bridge',
      '--side',
      'm=mqtt://127.0.0.1:1883?prefix=hopsafe-cred-test',
      '--side',
      'x=xmpp://127.0.0.1:5222?domain=localhost',
      '--route',
      'der-*=m',
      '--route',
      '*=x',
      '--id',
      'der-1,cc',
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.deepEqual(lines.slice(1), ['hopsafe: ERR_CONFIG: side x: no XMPP password for der-1 in the credentials file']);
  assert.doesNotMatch(r.stderr, /Unhandled|at file:|HopsafeError:/);
});
