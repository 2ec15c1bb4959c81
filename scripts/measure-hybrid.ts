// Measures HS_INIT / HS_RESP sizes and handshake cost, classical vs hybrid X25519MLKEM768 (run: npx tsx scripts/measure-hybrid.ts).
import { cpuUsage } from 'node:process';
import { createTestPki } from '../src/testing/index.js';
import { createNodeProvider } from '../src/crypto/node.js';
import { createNobleProvider } from '../src/crypto/noble.js';
import { handshake, makePair } from '../src/bench/contexts.js';

const SUITES = [
  'X25519_AES256GCM_SHA384',
  'X25519MLKEM768_AES256GCM_SHA384',
  'X25519_CHACHA20POLY1305_SHA256',
  'X25519MLKEM768_CHACHA20POLY1305_SHA256',
];
const ms = Number(process.argv[2] ?? 3000);

for (const keyType of ['p256', 'ed25519'] as const) {
  const pki = await createTestPki({ endpoints: [{ id: 'bench-a' }, { id: 'bench-b' }, { id: 'bench-c' }], keyType });
  for (const provider of [createNodeProvider(), createNobleProvider()]) {
    for (const suite of SUITES) {
      const pair = makePair(pki, [suite], 'confidentiality', provider);
      const first = await handshake(pair);
      for (let i = 0; i < 20; i++) await handshake(pair);
      const c0 = cpuUsage();
      const t0 = performance.now();
      let n = 0;
      while (performance.now() - t0 < ms) {
        await handshake(pair);
        n++;
      }
      const c = cpuUsage(c0);
      const cpuS = (c.user + c.system) / 1e6;
      console.log(
        JSON.stringify({
          keyType,
          provider: provider.name,
          suite,
          hsInitBytes: first.init.length,
          hsRespBytes: first.resp.length,
          handshakesPerCpuS: Math.round(n / cpuS),
          msPerHandshake: +((cpuS * 1000) / n).toFixed(3),
        }),
      );
    }
  }
}
