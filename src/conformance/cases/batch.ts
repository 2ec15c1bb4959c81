/** Group 9: BATCH frames — valid, with an altered entry, malformed (single entry, nested, trailing bytes…). [SPEC 3.7] */
import { encodeBatch } from '../../codec/batch.js';
import type { CaseEnv, ConformanceCase, Verdict } from '../case.js';
import type { KitParty } from '../party.js';
import { flip, onSession, rawBatch } from './helpers.js';

/** Every case of this group is about SPEC 3.7, on an established session. */
const batchCase = (id: string, title: string, run: (env: CaseEnv, p: KitParty, v: Verdict) => Promise<void>): ConformanceCase =>
  onSession(id, title, 'SPEC 3.7', run);

/** A refused BATCH must leave its records unprocessed: sent alone afterwards, each is accepted. */
function refusedWhole(id: string, title: string, make: (records: Uint8Array[], env: CaseEnv, p: KitParty) => Uint8Array): ConformanceCase {
  return batchCase(id, title, async (env, p, v) => {
    const xs = [0, 1, 2].map((i) => env.payload(`entry ${i}`));
    const fs = xs.map((x) => p.seal(x));
    await p.sendFrame(make(fs, env, p));
    const probe = env.payload('probe');
    await p.send(probe);
    v.fail(!(await p.waitEcho(probe)), 'no echo after the malformed BATCH');
    await env.settle();
    v.fail(p.count('data') > 1, 'a record of the malformed BATCH was accepted');
    for (const x of xs) p.intend(x);
    for (const f of fs) await p.sendFrame(f);
    for (const x of xs) v.fail(!(await p.waitEcho(x)), 'a record of the refused BATCH was used up (not accepted when sent alone)');
  });
}

export const batchCases: ConformanceCase[] = [
  batchCase('9.1.1', 'a valid BATCH of three records: each accepted once, in order', async (env, p, v) => {
    const xs = [0, 1, 2].map((i) => env.payload(`batched ${i}`));
    const fs = xs.map((x) => p.seal(x));
    for (const x of xs) p.intend(x);
    await p.sendFrame(encodeBatch(fs));
    for (const x of xs) v.fail(!(await p.waitEcho(x)), 'a record of a valid BATCH was not accepted');
    const order = p.events.flatMap((e) => (e.kind === 'data' ? [new TextDecoder().decode(e.payload)] : []));
    v.fail(order.join('|') !== xs.map((x) => new TextDecoder().decode(x)).join('|'), 'echoes not in the order of the batch');
  }),
  batchCase('9.1.2', 'a BATCH with one altered record: that record alone is refused', async (env, p, v) => {
    const xs = [0, 1, 2].map((i) => env.payload(`batched ${i}`));
    const fs = xs.map((x) => p.seal(x));
    p.intend(xs[0] as Uint8Array);
    p.intend(xs[2] as Uint8Array);
    await p.sendFrame(encodeBatch([fs[0] as Uint8Array, flip(fs[1] as Uint8Array, 'tag', 1), fs[2] as Uint8Array]));
    v.fail(
      !(await p.waitEcho(xs[0] as Uint8Array)) || !(await p.waitEcho(xs[2] as Uint8Array)),
      'the intact records of the BATCH were not accepted',
    );
  }),
  batchCase('9.1.3', 'a BATCH carrying one record twice: accepted once', async (env, p) => {
    const x = env.payload('twice in a batch');
    const f = p.seal(x);
    p.intend(x);
    await p.sendFrame(encodeBatch([f, f]));
  }),
  batchCase('9.1.4', 'a BATCH of 64 records: all accepted', async (env, p, v) => {
    const xs = Array.from({ length: 64 }, (_, i) => env.payload(`b${i}`));
    const fs = xs.map((x) => p.seal(x));
    for (const x of xs) p.intend(x);
    await p.sendFrame(encodeBatch(fs));
    v.fail(!(await p.waitEcho(xs[63] as Uint8Array)), 'the last record of a 64-entry BATCH was not accepted');
  }),
  refusedWhole('9.2.1', 'a BATCH of a single entry is refused whole', (fs) => rawBatch([fs[0] as Uint8Array])),
  refusedWhole('9.2.2', 'a nested BATCH is refused whole', (fs) =>
    rawBatch([rawBatch([fs[0] as Uint8Array, fs[1] as Uint8Array]), fs[2] as Uint8Array]),
  ),
  refusedWhole('9.2.3', 'a BATCH with trailing bytes is refused whole', (fs) => rawBatch(fs, Uint8Array.of(0x01))),
  refusedWhole('9.2.4', 'a BATCH with a handshake frame as an entry is refused whole', (fs, _env, p) =>
    rawBatch([...fs, p.initiate().frame]),
  ),
  refusedWhole('9.2.5', 'a BATCH of 65 entries is refused whole', (fs) =>
    rawBatch([...fs, ...Array.from({ length: 62 }, () => fs[0] as Uint8Array)]),
  ),
  refusedWhole('9.2.6', 'a BATCH with a non-minimal entry length is refused whole', (fs) => {
    const ok = rawBatch(fs);
    const first = fs[0] as Uint8Array;
    // re-encode the first entry's length on two bytes
    const out = new Uint8Array(ok.length + 1);
    out[0] = ok[0] as number;
    out[1] = 0x40 | (first.length >>> 8);
    out[2] = first.length & 0xff;
    out.set(ok.subarray(2), 3);
    return first.length < 0x40 ? out : ok.subarray(0, ok.length - 1);
  }),
  refusedWhole('9.2.7', 'a truncated BATCH is refused whole', (fs) => {
    const b = rawBatch(fs);
    return b.subarray(0, b.length - 3);
  }),
];
