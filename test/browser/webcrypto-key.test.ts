/**
 * [SPEC 10.6] A browser endpoint whose key the page's script cannot read, in Chromium and Firefox: the PKCS#8 key is
 * imported once as a non-extractable WebCrypto key and kept in IndexedDB; after a reload (the bytes are gone) the
 * stored CryptoKey comes back, `crypto.subtle.exportKey` on it rejects, and it signs the endpoint's ClearTokens
 * through `identity.signer: webCryptoSigner(key)`. Over MQTT/WebSocket through the embedded broker it initiates a
 * confidentiality session with one Node endpoint and answers an integrity-mode handshake from another; messages
 * flow both ways with the control center's roles verified; a key update; the test vectors still reproduce in the
 * same page. ECDSA P-256 and Ed25519.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createEndpoint } from '../../src/endpoint/endpoint.js';
import { mqttTransport } from '../../src/bindings/mqtt.js';
import { startBroker } from '../../src/broker/index.js';
import { createTestPki } from '../../src/testing/index.js';
import { BROWSERS, launchBrowser } from '../support/browsers.js';
import { until } from '../support/endpoints.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUNDLE = `${ROOT}dist/browser/index.js`;
const VECTOR = JSON.parse(readFileSync(`${ROOT}test/vectors/x25519-aes128gcm-confidentiality.json`, 'utf8'));

interface PageState {
  error?: string;
  messages: string[];
  sessions: { peer: string; protection: string; sendEpoch: number }[];
}

for (const name of BROWSERS)
  for (const keyType of ['p256', 'ed25519'] as const)
    test(`[SPEC 10.6] ${name}: a non-extractable WebCrypto ${keyType} key kept in IndexedDB signs the browser endpoint's handshakes`, async (t) => {
      const browser = await launchBrowser(t, name);
      if (!browser) return;
      const pki = await createTestPki({
        endpoints: [
          { id: 'control-center', roles: ['OPERATOR'] },
          { id: 'der-1', roles: ['VIEWER'] },
          { id: 'der-2', roles: ['VIEWER'] },
        ],
        keyType,
      });
      const broker = await startBroker({ ws: true });
      const bundle = readFileSync(BUNDLE);
      const server = createServer((req, res) => {
        if (req.url === '/hopsafe.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
        else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>webcrypto key</title>');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const ders = await Promise.all(
        (['der-1', 'der-2'] as const).map((id) =>
          createEndpoint({
            id,
            identity: pki.identities[id] as { certificate: string; privateKey: string },
            trust: pki.trust(),
            protection: id === 'der-1' ? 'confidentiality' : 'integrity',
            acceptProtection: ['integrity', 'confidentiality'],
            transport: mqttTransport({ url: broker.url, unsubscribeOnClose: true }),
          }),
        ),
      );
      const derGot: string[] = [];
      for (const d of ders)
        d.on('message', (m) => {
          const text = new TextDecoder().decode(m.data);
          derGot.push(`${d.id}<${m.from}[${m.roles.join(',')}]: ${text}`);
          void d.send(m.from, new TextEncoder().encode(`applied by ${d.id}`));
        });
      try {
        const page = await browser.newPage();
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
        await page.goto(url);
        // Import once, non-extractable, into IndexedDB.
        const imported = await page.evaluate(async (pem) => {
          const m = await import('/hopsafe.js' as string);
          const key = await m.importNonExtractableKey(pem);
          await m.webCryptoKeyStore('hopsafe-test').put('control-center', key);
          const c = (globalThis as unknown as { crypto: { subtle: { exportKey(f: string, k: unknown): Promise<unknown> } } }).crypto;
          return {
            extractable: key.extractable,
            exportRejected: await c.subtle.exportKey('pkcs8', key).then(
              () => false,
              () => true,
            ),
          };
        }, pki.identities['control-center']?.privateKey as string);
        assert.deepEqual(imported, { extractable: false, exportRejected: true });

        // A new page load: the key bytes are gone; the stored CryptoKey is all there is.
        await page.goto(url);
        const opened = await page.evaluate(
          async (cfg) => {
            const m = await import('/hopsafe.js' as string);
            const key = await m.webCryptoKeyStore('hopsafe-test').get('control-center');
            if (!key) return { error: 'no stored key' };
            const c = (globalThis as unknown as { crypto: { subtle: { exportKey(f: string, k: unknown): Promise<unknown> } } }).crypto;
            const exportRejected = await Promise.all(
              ['pkcs8', 'jwk'].map((f) =>
                c.subtle.exportKey(f, key).then(
                  () => false,
                  () => true,
                ),
              ),
            );
            const signer = m.webCryptoSigner(key);
            const state: PageState = { messages: [], sessions: [] };
            const cc = await m.createEndpoint({
              id: 'control-center',
              identity: { certificate: cfg.certificate, signer },
              trust: cfg.trust,
              protection: 'confidentiality',
              acceptProtection: ['integrity', 'confidentiality'],
              transport: m.mqttWsTransport({ url: cfg.wsUrl }),
            });
            cc.on('message', (e: { from: string; roles: string[]; data: Uint8Array }) =>
              state.messages.push(`${e.from}[${e.roles.join(',')}]: ${new TextDecoder().decode(e.data)}`),
            );
            cc.on('session', () => {
              state.sessions = cc.sessions();
            });
            cc.on('key-update', () => {
              state.sessions = cc.sessions();
            });
            Object.assign(globalThis, { cc, ccState: state });
            return { extractable: key.extractable, type: key.type, exportRejected, signatureAlg: signer.signatureAlg };
          },
          { certificate: pki.identities['control-center']?.certificate as string, trust: pki.trust(), wsUrl: broker.wsUrl as string },
        );
        assert.deepEqual(opened, {
          extractable: false,
          type: 'private',
          exportRejected: [true, true],
          signatureAlg: keyType === 'p256' ? 'ecdsa-p256-sha256' : 'ed25519',
        });
        const pageState = () => page.evaluate(() => (globalThis as unknown as { ccState: PageState }).ccState, undefined);
        const waitPage = async (what: string, ok: (s: PageState) => boolean) => {
          const end = Date.now() + 20_000;
          for (;;) {
            const s = await pageState();
            if (ok(s)) return s;
            if (Date.now() > end) assert.fail(`${name}: timed out waiting for ${what}: ${JSON.stringify(s)}`);
            await new Promise((r) => setTimeout(r, 100));
          }
        };

        // The page initiates (its HS_INIT signed by the CryptoKey): confidentiality with der-1.
        await page.evaluate(
          (d) =>
            (globalThis as unknown as { cc: { send(p: string, b: Uint8Array): Promise<void> } }).cc.send(
              d,
              new TextEncoder().encode('setpoint 40 kW'),
            ),
          'der-1',
        );
        await until(() => derGot.includes('der-1<control-center[OPERATOR]: setpoint 40 kW'), 20_000, 'der-1 verified the setpoint');
        await waitPage('der-1 answer', (s) => s.messages.includes('der-1[VIEWER]: applied by der-1'));

        // der-2 initiates in integrity mode: the page responds (its HS_RESP signed by the CryptoKey).
        await ders[1]?.send('control-center', new TextEncoder().encode('telemetry 3.2 MW'));
        await waitPage('der-2 telemetry', (s) => s.messages.includes('der-2[VIEWER]: telemetry 3.2 MW'));
        await page.evaluate(
          (d) =>
            (globalThis as unknown as { cc: { send(p: string, b: Uint8Array): Promise<void> } }).cc.send(
              d,
              new TextEncoder().encode('setpoint 10 kW'),
            ),
          'der-2',
        );
        await until(() => derGot.includes('der-2<control-center[OPERATOR]: setpoint 10 kW'), 20_000, 'der-2 verified the setpoint');
        const s3 = await waitPage('both sessions', (s) => s.sessions.length === 2);
        assert.deepEqual(s3.sessions.map((s) => [s.peer, s.protection]).sort(), [
          ['der-1', 'confidentiality'],
          ['der-2', 'integrity'],
        ]);

        // A key update with der-1, and traffic in the new epoch.
        await page.evaluate(() => (globalThis as unknown as { cc: { rekey(p: string): Promise<void> } }).cc.rekey('der-1'), undefined);
        await waitPage('the key update', (s) => s.sessions.some((x) => x.peer === 'der-1' && x.sendEpoch === 1));
        await page.evaluate(
          (d) =>
            (globalThis as unknown as { cc: { send(p: string, b: Uint8Array): Promise<void> } }).cc.send(
              d,
              new TextEncoder().encode('after rekey'),
            ),
          'der-1',
        );
        await until(() => derGot.includes('der-1<control-center[OPERATOR]: after rekey'), 20_000, 'der-1 got the message of the new epoch');

        // The vectors are unaffected: the same page still reproduces one byte for byte.
        const diffs = await page.evaluate(async (v) => {
          const m = await import('/hopsafe.js' as string);
          return m.verifyVector(m.createNobleProvider(), v);
        }, VECTOR);
        assert.deepEqual(diffs, []);
        await page.evaluate(() => (globalThis as unknown as { cc: { close(): Promise<void> } }).cc.close(), undefined);
        assert.deepEqual(page.errors, []);
      } finally {
        await browser.close();
        await Promise.all(ders.map((d) => d.close()));
        await broker.close();
        server.close();
      }
    });
