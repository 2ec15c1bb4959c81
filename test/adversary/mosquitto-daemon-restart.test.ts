/**
 * Issue #8 on a Mosquitto run the way a system broker runs (daemonized `mosquitto -d -c <conf>` with a pid
 * file, `persistence true`, no autosave — the Debian package's config), but a private one this test starts:
 * its own config, free port, pid file and persistence database in a temp dir. Stopped mid-stream with
 * SIGTERM (it saves its persistence database) and started again with the same command line; at QoS 1 with
 * persistent sessions, 0 messages lost, 0 duplicated, no new handshake. [SPEC 7.4, 8.2]
 *
 * The system Mosquitto on 1883 is never touched (issue #16). Skips (fails under HOPSAFE_REQUIRE_SERVICES=1)
 * when the mosquitto binary is not installed. The after hook stops the private broker and removes its dir.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireOrSkip } from '../support/services.js';
import { mosquittoBinary, startDaemonMosquitto, type DaemonMosquitto } from '../support/mosquitto.js';
import { restartMidStream } from '../support/broker-restart.js';

const cleanup: Array<() => Promise<unknown>> = [];
let daemon: DaemonMosquitto | undefined;

after(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
  await daemon?.dispose(); // a failure here fails the file
});

test('[SPEC 7.4, 8.2] daemonized Mosquitto (persistence true, pid file) restarted mid-stream as a system runs it → 0 lost, 0 duplicated, no new handshake', async (t) => {
  const bin = mosquittoBinary();
  if (!requireOrSkip(t, 'mosquitto binary', bin !== undefined)) return;
  const broker = await startDaemonMosquitto(bin!);
  daemon = broker;
  const before = broker.pid();
  assert.ok(before !== undefined, 'pid of the running mosquitto daemon');
  let restarted: number | undefined;
  await restartMidStream(
    broker.url,
    'confidentiality',
    async () => {
      await broker.stop();
      restarted = await broker.start();
    },
    { register: (close) => cleanup.push(close) },
  );
  // the broker really restarted: the old process is gone, a new one serves the port
  assert.ok(restarted !== undefined, 'the mosquitto daemon was started again');
  assert.notEqual(restarted, before, 'a new mosquitto process');
  assert.equal(broker.alive(before), false, `the old mosquitto (pid ${before}) has exited`);
  assert.equal(broker.pid(), restarted, 'the pid file names the new process');
});
