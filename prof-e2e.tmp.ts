import { createEndpoint } from './src/endpoint/endpoint.js';
import { mqttTransport } from './src/bindings/mqtt.js';
import { createTestPki } from './src/testing/index.js';
const mode = process.argv[2] ?? 'hopsafe';
const N = 60000;
const pki = await createTestPki({ endpoints: [{ id: 'pa' }, { id: 'pb' }] });
const mk = async (id: string) => createEndpoint({ id, identity: pki.identities[id]!, trust: { roots: pki.roots },
  transport: mqttTransport({ url: 'mqtt://127.0.0.1:1883', prefix: `prof${process.pid}`, qos: 1, clientId: `${id}${process.pid}` }),
  protection: 'confidentiality', coalesce: { maxRecords: 1 } });
const a = await mk('pa'); const b = await mk('pb');
let got = 0; let done: () => void; const all = new Promise<void>((r) => (done = r));
b.on('message', () => { if (++got === N) done(); });
const payload = new Uint8Array(256).fill(7);
await a.send('pb', payload);
got = 0;
const c0 = process.cpuUsage(); const t0 = performance.now();
let sent = 0;
const lane = async () => { while (sent < N) { sent++; await a.send('pb', payload); } };
await Promise.all(Array.from({ length: 32 }, lane));
await all;
const d = process.cpuUsage(c0);
console.log(mode, 'msgs/s', Math.round(N / ((performance.now() - t0) / 1000)), 'cpu us/msg (both sides)', ((d.user + d.system) / N).toFixed(2));
await a.close(); await b.close();
