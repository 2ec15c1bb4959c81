/**
 * The web demo in Chromium (issue 21): the page's control center — a hopsafe endpoint in the browser, MQTT over
 * WebSocket to the embedded broker's ws listener — holds sessions with Node DERs in both modes, messages flow both
 * ways and are verified, the broker view shows the integrity-only DER's payload and only ciphertext of the others,
 * a frame tampered with in the broker and a replayed one are refused and shown, a key update is shown.
 * A screenshot is saved under the test-artifacts directory (not the repository).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startWebDemo } from '../../src/cli/demo-web.js';
import { artifactsDir, launchChromium } from '../support/chromium.js';

interface DemoState {
  ready: boolean;
  error?: string;
  sessions: Record<string, { protection: string; sendEpoch: number; receiveEpoch: number; roles: string[] }>;
  messages: { from: string; roles: string[]; text: string }[];
  rejects: { code: string; from?: string }[];
  keyUpdates: { peer: string; direction: string; epoch: number }[];
  derEvents: { der: string; event: string; from?: string; roles?: string[]; text?: string; code?: string }[];
}

const state = (page: Page): Promise<DemoState> => page.evaluate(() => (globalThis as unknown as { hopsafeDemo: DemoState }).hopsafeDemo);

async function until(page: Page, what: string, ok: (s: DemoState) => boolean, ms = 15_000): Promise<DemoState> {
  const end = Date.now() + ms;
  for (;;) {
    const s = await state(page);
    if (s.error) assert.fail(`page error: ${s.error}`);
    if (ok(s)) return s;
    if (Date.now() > end) assert.fail(`timed out waiting for: ${what}\n${JSON.stringify(s).slice(0, 2000)}`);
    await page.waitForTimeout(100);
  }
}

test('web demo: a browser endpoint and three Node DERs, end to end through the embedded broker over MQTT/WebSocket', async (t) => {
  const browser = await launchChromium(t);
  if (!browser) return;
  const demo = await startWebDemo({ port: 0, telemetryMs: 300 });
  try {
    assert.match(demo.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.match(demo.broker.wsUrl ?? '', /^ws:\/\/127\.0\.0\.1:\d+$/);
    const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(demo.url);
    await page.getByTestId('endpoint-view').waitFor();
    await page.getByTestId('broker-view').waitFor();
    await until(page, 'the page endpoint is up', (s) => s.ready);

    // Handshakes in both modes (the DERs initiate; the browser accepts both), shown in the sessions table.
    const s1 = await until(page, 'sessions with der-1 (integrity) and der-2, der-3 (confidentiality)', (s) =>
      ['der-1', 'der-2', 'der-3'].every((d) => s.sessions[d]),
    );
    assert.equal(s1.sessions['der-1']?.protection, 'integrity');
    assert.equal(s1.sessions['der-2']?.protection, 'confidentiality');
    assert.deepEqual(s1.sessions['der-1']?.roles, ['VIEWER']);
    await assert.doesNotReject(
      page.locator('[data-testid=sessions] tr[data-peer=der-1]', { hasText: 'integrity' }).waitFor({ timeout: 5000 }),
    );
    await assert.doesNotReject(
      page.locator('[data-testid=sessions] tr[data-peer=der-2]', { hasText: 'confidentiality' }).waitFor({ timeout: 5000 }),
    );

    // DER → browser: verified, with sender and roles, in the endpoint view.
    await until(page, 'telemetry from der-1 and der-2 verified', (s) =>
      ['der-1', 'der-2'].every((d) => s.messages.some((m) => m.from === d && m.roles.includes('VIEWER') && m.text.includes('"telemetry"'))),
    );
    assert.match((await page.getByTestId('endpoint-log').textContent()) ?? '', /verified from der-2 \[VIEWER\]: \{"type":"telemetry"/);

    // Broker view: the integrity-only DER's payload is readable, the confidentiality ones' is not.
    await page
      .locator('[data-testid=broker-log] div', {
        hasText: /hopsafe\/control-center\/der-1 {2}DATA \d+ B {2}«\{"type":"telemetry","der":"der-1"/,
      })
      .first()
      .waitFor({ timeout: 5000 });
    await page
      .locator('[data-testid=broker-log] div', { hasText: /hopsafe\/control-center\/der-2 {2}DATA \d+ B {2}[0-9a-f]{40}/ })
      .first()
      .waitFor({ timeout: 5000 });
    const brokerText = (await page.getByTestId('broker-log').textContent()) ?? '';
    assert.doesNotMatch(brokerText, /"der":"der-2"|"der":"der-3"/, 'no plaintext of the confidentiality DERs on the broker');

    // Browser → DER, both modes: the DER verifies the setpoint (sender control-center, OPERATOR) and answers.
    for (const der of ['der-1', 'der-2']) {
      await page.getByRole('combobox').selectOption(der);
      await page.getByTestId('send-setpoint').click();
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
      (await page.getByTestId('endpoint-log').textContent()) ?? '',
      /der-2 verified from control-center \[OPERATOR, SECAUD\]: \{"type":"setpoint"/,
    );

    // Tamper: the broker flips a bit in the next DATA frame to the control center; the page refuses it and shows it.
    const before = (await state(page)).rejects.length;
    await page.getByTestId('tamper').click();
    const afterTamper = await until(page, 'the tampered frame refused', (s) =>
      s.rejects.slice(before).some((r) => r.code === 'ERR_BAD_MAC'),
    );
    assert.ok(afterTamper.rejects.slice(before).every((r) => r.code === 'ERR_BAD_MAC'));
    await page.locator('[data-testid=endpoint-log] .reject', { hasText: 'ERR_BAD_MAC' }).waitFor({ timeout: 5000 });
    await page.locator('[data-testid=broker-log] .tampered', { hasText: 'TAMPERED BY THE BROKER' }).first().waitFor({ timeout: 5000 });

    // Replay: the broker re-sends the last frame it delivered to the control center; refused as a replay.
    await page.getByTestId('replay').click();
    await until(page, 'the replayed frame refused', (s) => s.rejects.some((r) => r.code === 'ERR_REPLAY'));
    await page.locator('[data-testid=endpoint-log] .reject', { hasText: 'ERR_REPLAY' }).waitFor({ timeout: 5000 });

    // Rekey with der-2: key updates on both sides, shown; traffic goes on in the new epoch.
    await page.getByRole('combobox').selectOption('der-2');
    await page.getByTestId('rekey').click();
    const k = await until(
      page,
      'the key update with der-2',
      (s) =>
        s.keyUpdates.some((u) => u.peer === 'der-2' && u.direction === 'send' && u.epoch === 1) &&
        s.derEvents.some((e) => e.der === 'der-2' && e.event === 'key-update'),
    );
    const n = k.messages.filter((m) => m.from === 'der-2').length;
    await until(page, 'der-2 telemetry after the key update', (s) => s.messages.filter((m) => m.from === 'der-2').length > n + 1);
    await page
      .locator('[data-testid=endpoint-log] .key-update', { hasText: 'key update (send) with der-2: epoch 1' })
      .waitFor({ timeout: 5000 });

    // The chart has both series drawn.
    assert.equal(await page.locator('[data-testid=chart] path').count(), 2);
    const shot = join(artifactsDir(), 'web-demo.png');
    await page.screenshot({ path: shot });
    t.diagnostic(`screenshot: ${shot}`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await demo.close();
  }
});
