/**
 * The web demo in a real browser (issue 21), the same case in Chromium and in Firefox: the page's control center — a
 * hopsafe endpoint in the browser, MQTT over WebSocket to the embedded broker's ws listener — holds sessions with
 * Node DERs in both modes, messages flow both ways and are verified, the broker view shows the integrity-only DER's
 * payload and only ciphertext of the others, a frame tampered with in the broker and a replayed one are refused and
 * shown, a key update is shown. Issue 20: each DER publishes telemetry samples to its group `telemetry`; the page joins
 * each DER's group and reads every sample from its join on exactly once, the broker view shows one GROUP_DATA frame
 * per publish on `hopsafe/~g/der-N/…`, and the historian (a Node member) reads every sample. A screenshot per browser is saved under the test-artifacts directory (not the
 * repository).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startWebDemo } from '../../src/cli/demo-web.js';
import { artifactsDir, BROWSERS, launchBrowser, type MiniDocument, textOf, waitForText, type TestPage } from '../support/browsers.js';

interface DemoState {
  ready: boolean;
  keyStorage?: string;
  error?: string;
  sessions: Record<string, { protection: string; sendEpoch: number; receiveEpoch: number; roles: string[] }>;
  messages: { from: string; roles: string[]; text: string }[];
  rejects: { code: string; from?: string }[];
  keyUpdates: { peer: string; direction: string; epoch: number }[];
  derEvents: { der: string; event: string; from?: string; roles?: string[]; text?: string; code?: string }[];
  groupMessages: { from: string; group: string; roles: string[]; text: string }[];
  joined: string[];
  groupFrames: Record<string, number>;
  groupPublished: Record<string, number>;
  historian: Record<string, number>;
}

const DERS = ['der-1', 'der-2', 'der-3'];
/** The sample numbers `k` of the group messages the page read from `der`, in arrival order. */
const samplesFrom = (s: DemoState, der: string): number[] =>
  s.groupMessages.filter((m) => m.from === der).map((m) => (JSON.parse(m.text) as { k: number }).k);

const state = (page: TestPage): Promise<DemoState> =>
  page.evaluate(() => (globalThis as unknown as { hopsafeDemo: DemoState }).hopsafeDemo, undefined);

async function until(page: TestPage, what: string, ok: (s: DemoState) => boolean, ms = 20_000): Promise<DemoState> {
  const end = Date.now() + ms;
  for (;;) {
    const s = await state(page);
    if (s?.error) assert.fail(`${page.browser}: page error: ${s.error}`);
    if (s && ok(s)) return s;
    if (Date.now() > end) assert.fail(`${page.browser}: timed out waiting for: ${what}\n${JSON.stringify(s).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const name of BROWSERS)
  test(`web demo in ${name}: a browser endpoint and three Node DERs, end to end through the embedded broker over MQTT/WebSocket`, async (t) => {
    const browser = await launchBrowser(t, name);
    if (!browser) return;
    const demo = await startWebDemo({ port: 0, telemetryMs: 300 });
    try {
      assert.match(demo.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.match(demo.broker.wsUrl ?? '', /^ws:\/\/127\.0\.0\.1:\d+$/);
      const page = await browser.newPage({ width: 1400, height: 800 });
      await page.goto(demo.url);
      await waitForText(page, '[data-testid=endpoint-view]', /What the endpoints see/);
      await waitForText(page, '[data-testid=broker-view]', /./);
      const up = await until(page, 'the page endpoint is up', (s) => s.ready);
      // [SPEC 10.6] The page signs with a non-extractable WebCrypto key (127.0.0.1 is a secure context).
      assert.equal(up.keyStorage, 'non-extractable WebCrypto key');

      // Handshakes in both modes (the DERs initiate; the browser accepts both), shown in the sessions table.
      const s1 = await until(page, 'sessions with der-1 (integrity) and der-2, der-3 (confidentiality)', (s) =>
        ['der-1', 'der-2', 'der-3'].every((d) => s.sessions[d]),
      );
      assert.equal(s1.sessions['der-1']?.protection, 'integrity');
      assert.equal(s1.sessions['der-2']?.protection, 'confidentiality');
      assert.deepEqual(s1.sessions['der-1']?.roles, ['VIEWER']);
      await waitForText(page, '[data-testid=sessions] tr[data-peer=der-1]', 'integrity');
      await waitForText(page, '[data-testid=sessions] tr[data-peer=der-2]', 'confidentiality');

      // DER → browser: verified, with sender and roles, in the endpoint view.
      await until(page, 'telemetry from der-1 and der-2 verified', (s) =>
        ['der-1', 'der-2'].every((d) =>
          s.messages.some((m) => m.from === d && m.roles.includes('VIEWER') && m.text.includes('"telemetry"')),
        ),
      );
      assert.match(await textOf(page, '[data-testid=endpoint-log]'), /verified from der-2 \[VIEWER\]: \{"type":"telemetry"/);

      // [SPEC 13] Groups: the page joined each DER's group once its session was up. A moment where, for every DER, the
      // page has read the last sample published, the broker carried one frame per sample and the historian read them all.
      const g = await until(page, 'group messages from every DER: one broker frame per publish, read by the page and the historian', (s) =>
        DERS.every((d) => {
          const published = s.groupPublished[d] ?? 0;
          const ks = samplesFrom(s, d);
          return (
            s.joined.includes(d) &&
            ks.length >= 2 &&
            ks.at(-1) === published &&
            s.groupFrames[d] === published &&
            s.historian[d] === published
          );
        }),
      );
      for (const d of DERS) {
        const ks = samplesFrom(g, d);
        const first = ks[0]!;
        assert.deepEqual(
          ks,
          Array.from({ length: g.groupPublished[d]! - first + 1 }, (_, i) => first + i),
          `${d}: the page read each sample from its join on exactly once, in order`,
        );
        assert.ok(
          g.groupMessages.filter((m) => m.from === d).every((m) => m.group === 'telemetry' && m.roles.includes('VIEWER')),
          `${d}: group messages name their group and the publisher's roles`,
        );
      }
      assert.equal(new Set(g.joined).size, 3, 'each group joined once');
      assert.match(
        await textOf(page, '[data-testid=endpoint-log]'),
        /group telemetry from der-2 \[VIEWER\]: \{"type":"sample","der":"der-2","k":\d+/,
      );
      assert.ok(Number(await textOf(page, '[data-testid=historian-count]')) >= 6, 'the historian count is shown');
      // The broker view: the group frames on their topic, der-1's (integrity) readable, der-2's only hex.
      await waitForText(
        page,
        '[data-testid=broker-log] div.group-frame',
        /hopsafe\/~g\/der-1\/[0-9a-f]{32} {2}GROUP_DATA \d+ B {2}one message for 2 readers {2}«\{"type":"sample","der":"der-1"/,
      );
      await waitForText(
        page,
        '[data-testid=broker-log] div.group-frame',
        /hopsafe\/~g\/der-2\/[0-9a-f]{32} {2}GROUP_DATA \d+ B {2}one message for 2 readers {2}[0-9a-f]{40}/,
      );

      // Broker view: the integrity-only DER's payload is readable, the confidentiality ones' is not.
      await waitForText(
        page,
        '[data-testid=broker-log] div',
        /hopsafe\/control-center\/der-1 {2}DATA \d+ B {2}«\{"type":"telemetry","der":"der-1"/,
      );
      await waitForText(page, '[data-testid=broker-log] div', /hopsafe\/control-center\/der-2 {2}DATA \d+ B {2}[0-9a-f]{40}/);
      const brokerText = await textOf(page, '[data-testid=broker-log]');
      assert.match(brokerText, /~g\/der-3\//, 'der-3 group frames are shown too');
      assert.doesNotMatch(brokerText, /"der":"der-2"|"der":"der-3"/, 'no plaintext of the confidentiality DERs on the broker');

      // Browser → DER, both modes: the DER verifies the setpoint (sender control-center, OPERATOR) and answers.
      for (const der of ['der-1', 'der-2']) {
        await page.select('#der', der);
        await page.click('[data-testid=send-setpoint]');
        await until(
          page,
          `${der} verified the setpoint and its answer came back`,
          (s) =>
            s.derEvents.some(
              (e) =>
                e.der === der &&
                e.event === 'message' &&
                e.from === 'control-center' &&
                (e.roles ?? []).includes('OPERATOR') &&
                (e.text ?? '').includes('"setpoint"'),
            ) && s.messages.some((m) => m.from === der && m.text.includes('"applied"')),
        );
      }
      assert.match(
        await textOf(page, '[data-testid=endpoint-log]'),
        /der-2 verified from control-center \[OPERATOR, SECAUD\]: \{"type":"setpoint"/,
      );

      // Tamper: the broker flips a bit in the next DATA frame to the control center; the page refuses it and shows it.
      const before = (await state(page)).rejects.length;
      await page.click('[data-testid=tamper]');
      const afterTamper = await until(page, 'the tampered frame refused', (s) =>
        s.rejects.slice(before).some((r) => r.code === 'ERR_BAD_MAC'),
      );
      assert.ok(afterTamper.rejects.slice(before).every((r) => r.code === 'ERR_BAD_MAC'));
      await waitForText(page, '[data-testid=endpoint-log] .reject', 'ERR_BAD_MAC');
      await waitForText(page, '[data-testid=broker-log] .tampered', 'TAMPERED BY THE BROKER');

      // Replay: the broker re-sends the last frame it delivered to the control center; refused as a replay.
      await page.click('[data-testid=replay]');
      await until(page, 'the replayed frame refused', (s) => s.rejects.some((r) => r.code === 'ERR_REPLAY'));
      await waitForText(page, '[data-testid=endpoint-log] .reject', 'ERR_REPLAY');

      // Rekey with der-2: key updates on both sides, shown; traffic goes on in the new epoch.
      await page.select('#der', 'der-2');
      await page.click('[data-testid=rekey]');
      const k = await until(
        page,
        'the key update with der-2',
        (s) =>
          s.keyUpdates.some((u) => u.peer === 'der-2' && u.direction === 'send' && u.epoch === 1) &&
          s.derEvents.some((e) => e.der === 'der-2' && e.event === 'key-update'),
      );
      const n = k.messages.filter((m) => m.from === 'der-2').length;
      await until(page, 'der-2 telemetry after the key update', (s) => s.messages.filter((m) => m.from === 'der-2').length > n + 1);
      await waitForText(page, '[data-testid=endpoint-log] .key-update', 'key update (send) with der-2: epoch 1');

      // The chart has both series drawn.
      assert.equal(
        await page.evaluate(
          () => (globalThis as unknown as { document: MiniDocument }).document.querySelectorAll('[data-testid=chart] path').length,
          undefined,
        ),
        2,
      );
      const shot = join(artifactsDir(), `web-demo-${name}.png`);
      await page.screenshot(shot);
      t.diagnostic(`screenshot: ${shot}`);
      assert.deepEqual(page.errors, []);
    } finally {
      await browser.close();
      await demo.close();
    }
  });
