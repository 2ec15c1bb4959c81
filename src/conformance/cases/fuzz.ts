/** Group 13: a short fuzz phase — mutated records and handshakes, random frames; nothing mutated is accepted. [SPEC 12] */
import { concat, equal } from '../../bytes/index.js';
import { createPrng, type Prng } from '../../adversary/prng.js';
import { defineCase, Verdict, type ConformanceCase } from '../case.js';
import { sidOf, stillAnswers } from './helpers.js';

/** One seeded mutation: bit flips, truncation, extension, a byte overwritten, or two frames spliced. */
function mutate(r: Prng, f: Uint8Array, other: Uint8Array): Uint8Array {
  const out = f.slice();
  switch (r.int(5)) {
    case 0: {
      const n = 1 + r.int(4);
      for (let i = 0; i < n; i++) {
        const at = r.int(out.length);
        out[at] = (out[at] as number) ^ (1 << r.int(8));
      }
      return out;
    }
    case 1:
      return out.subarray(0, r.int(out.length));
    case 2:
      return concat(out, r.bytes(1 + r.int(16)));
    case 3: {
      const at = r.int(out.length);
      out[at] = ((out[at] as number) + 1 + r.int(255)) & 0xff;
      return out;
    }
    default: {
      const cut = 1 + r.int(Math.min(f.length, other.length) - 1);
      return concat(f.subarray(0, cut), other.subarray(cut));
    }
  }
}

export const fuzzCases: ConformanceCase[] = [
  defineCase('13.1.1', '300 mutated DATA records (both modes): none accepted', 'SPEC 7.1, 12', async (env) => {
    const v = new Verdict();
    const r = createPrng(0x1311);
    for (const protection of ['confidentiality', 'integrity'] as const) {
      const p = await env.connected(protection, { protection });
      for (let i = 0; i < 150; i++) {
        const a = p.seal(env.payload(`fuzz ${i}`));
        const b = p.seal(env.payload(`fuzz ${i}'`));
        const m = mutate(r, a, b);
        // a splice inside the shared header prefix can rebuild a genuine record: not a mutation
        if (!equal(m, a) && !equal(m, b)) await p.sendFrame(m);
      }
      await stillAnswers(env, p, v);
    }
    return v.result();
  }),
  defineCase('13.1.2', '60 mutated HS_INITs: none answered', 'SPEC 5.4, 12', async (env) => {
    const v = new Verdict();
    const r = createPrng(0x1312);
    const p = env.party();
    const sids = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const a = p.initiate().frame;
      const b = p.initiate().frame;
      const m = mutate(r, a, b);
      if (equal(m, a) || equal(m, b)) continue;
      try {
        sids.add(sidOf(m));
      } catch {
        /* no longer decodes: no session id to watch */
      }
      sids.add(sidOf(a));
      await p.sendFrame(m);
    }
    const q = await env.connected('live');
    await stillAnswers(env, q, v);
    const answered = p.events.filter((e) => e.kind === 'hs-resp' && sids.has(e.sid)).length;
    v.fail(answered > 0, `${answered} mutated HS_INIT(s) answered with an HS_RESP`);
    return v.result();
  }),
  defineCase('13.1.3', '200 random frames of every type byte: none accepted, the session survives', 'SPEC 3.1, 12', async (env) => {
    const v = new Verdict();
    const r = createPrng(0x1313);
    const p = await env.connected();
    for (let i = 0; i < 200; i++) {
      const f = r.bytes(r.int(80));
      if (f.length > 0) f[0] = 0x10 | r.int(16);
      if (f.length > 9 && r.next() < 0.5) f.set(p.session!.id, 1); // aimed at the live session
      await p.sendFrame(f);
    }
    await stillAnswers(env, p, v);
    return v.result();
  }),
];
