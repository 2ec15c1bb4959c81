/** Group 6: records — every bit-flip region, truncation, extension, wrong session and peer, epochs, replays, reordering. [SPEC 3.3, 7.1, 7.4] */
import { concat } from '../../bytes/index.js';
import { decodeRecordHeader, encodeRecordHeader, FrameType } from '../../codec/frame.js';
import type { RegionName } from '../../adversary/regions.js';
import { defineCase, Verdict, type CaseEnv, type CaseResult, type ConformanceCase } from '../case.js';
import type { KitParty } from '../party.js';
import type { Protection } from '../../codec/tokens.js';
import { fillWindow, flip, stillAnswers } from './helpers.js';

/** A connected party, an attack on it, then the closing check. */
function attack(
  id: string,
  title: string,
  clause: string,
  run: (env: CaseEnv, p: KitParty, v: Verdict) => Promise<void>,
  protection: Protection = 'confidentiality',
): ConformanceCase {
  return defineCase(id, title, clause, async (env): Promise<CaseResult> => {
    const v = new Verdict();
    const p = await env.connected(undefined, { protection });
    await run(env, p, v);
    await stillAnswers(env, p, v);
    return v.result();
  });
}

/** Replaces the session id in a record header (the body stays). */
export function withSessionId(frame: Uint8Array, sid: Uint8Array): Uint8Array {
  const out = frame.slice();
  out.set(sid, 1);
  return out;
}

/** Replaces the epoch in a record header. */
export function withEpoch(frame: Uint8Array, epoch: number): Uint8Array {
  const out = frame.slice();
  out[9] = epoch >>> 8;
  out[10] = epoch & 0xff;
  return out;
}

const flips: [RegionName, number, string][] = [
  ['payload', 3, 'payload'],
  ['tag', -1, 'tag'],
  ['header', 8 * 11 - 1, 'header (epoch)'],
  ['header', 8 * 12 - 1, 'header (sequence number)'],
  ['header', 4, 'header (type byte)'],
];

const flipCases = (mode: Protection, sub: number): ConformanceCase[] =>
  flips.map(([region, bit, what], i) =>
    attack(
      `6.${sub}.${i + 1}`,
      `${mode}: a DATA record with one bit flipped in its ${what} is not accepted`,
      'SPEC 7.1',
      async (env, p) => {
        const tl = mode === 'integrity' ? (p.session!.suite.hash === 'sha384' ? 48 : 32) : 16;
        await p.sendFrame(flip(p.seal(env.payload(`flip ${what}`)), region, bit, tl));
      },
      mode,
    ),
  );

export const recordCases: ConformanceCase[] = [
  ...flipCases('confidentiality', 1),
  ...flipCases('integrity', 2),
  attack('6.3.1', 'a record truncated by one byte is not accepted', 'SPEC 7.1', async (env, p) => {
    const f = p.seal(env.payload('truncated'));
    await p.sendFrame(f.subarray(0, f.length - 1));
  }),
  attack('6.3.2', 'a record extended by one byte is not accepted', 'SPEC 7.1', async (env, p) => {
    await p.sendFrame(concat(p.seal(env.payload('extended')), Uint8Array.of(0)));
  }),
  attack('6.3.3', 'a record cut to its header is not accepted', 'SPEC 3.3', async (env, p) => {
    const f = p.seal(env.payload('header only'));
    await p.sendFrame(f.subarray(0, decodeRecordHeader(f).length));
  }),
  attack(
    '6.3.4',
    'an integrity record with its tag cut to 8 bytes is not accepted',
    'SPEC 7.1',
    async (env, p) => {
      const f = p.seal(env.payload('short tag'));
      await p.sendFrame(f.subarray(0, f.length - 24));
    },
    'integrity',
  ),
  attack('6.4.1', 'a record for an unknown session id is not accepted (hint ERR_UNKNOWN_SESSION)', 'SPEC 7.1, 8.8', async (env, p, v) => {
    const sid = env.kit.provider.randomBytes(8);
    await p.sendFrame(withSessionId(p.seal(env.payload('unknown session')), sid));
    const hint = await p.waitFor((e) => e.kind === 'hs-alert' && e.code === 'ERR_UNKNOWN_SESSION', env.timeoutMs);
    v.nonStrict(!hint, 'no HS_ALERT ERR_UNKNOWN_SESSION for a record of an unknown session');
  }),
  attack(
    '6.4.2',
    "a record of one peer's session sent by another peer is not accepted, and does not use up the record",
    'SPEC 5.9, 7.1, 8.1',
    async (env, p, v) => {
      const q = await env.connected('b');
      const payload = env.payload('redirected');
      const f = p.seal(payload);
      await q.sendFrame(f);
      v.fail(!(await q.roundTrip()), 'the other session stopped working');
      await env.settle();
      v.fail(p.count('data') > 0 || q.overDelivered().length > 0, 'the redirected record was accepted');
      p.intend(payload);
      await p.sendFrame(f);
      v.fail(!(await p.waitEcho(payload)), 'the record, refused from the wrong sender, was not accepted from its own');
    },
  ),
  attack('6.5.1', 'a record of an epoch two ahead is not accepted', 'SPEC 7.1, 7.3', async (env, p) => {
    await p.sendFrame(withEpoch(p.seal(env.payload('epoch +2')), 2));
  }),
  attack('6.5.2', 'a forged record of the next epoch (held, never verified) is not accepted', 'SPEC 7.3', async (env, p) => {
    await p.sendFrame(withEpoch(p.seal(env.payload('epoch +1')), 1));
  }),
  attack('6.6.1', 'a record delivered twice is accepted once', 'SPEC 7.4', async (env, p) => {
    const f = await p.send(env.payload('twice'));
    await p.sendFrame(f);
  }),
  attack('6.6.2', 'a record replayed after 70 newer records (outside the window) is not accepted', 'SPEC 7.4', async (env, p, v) => {
    const f = await p.send(env.payload('old'));
    const last = await fillWindow(env, 70, (x) => p.send(x));
    v.fail(!(await p.waitEcho(last)), 'the 70 records were not all echoed');
    await p.sendFrame(f);
  }),
  attack('6.6.3', 'a record never delivered, 64 or more below the highest, is not accepted', 'SPEC 7.4', async (env, p, v) => {
    const held = p.seal(env.payload('held back'));
    const last = await fillWindow(env, 66, (x) => p.send(x));
    v.fail(!(await p.waitEcho(last)), 'the 66 records were not all echoed');
    await p.sendFrame(held);
  }),
  attack('6.7.1', 'records reordered inside the window are each accepted once', 'SPEC 7.4', async (env, p, v) => {
    const ps = [0, 1, 2, 3, 4].map((i) => env.payload(`reordered ${i}`));
    const fs = ps.map((x) => p.seal(x));
    for (const x of ps) p.intend(x);
    for (const f of [...fs].reverse()) await p.sendFrame(f);
    for (const x of ps) v.fail(!(await p.waitEcho(x)), 'a reordered record was not accepted');
  }),
  attack('6.7.2', 'records reordered and duplicated are each accepted once', 'SPEC 7.4', async (env, p, v) => {
    const ps = [0, 1, 2, 3].map((i) => env.payload(`mixed ${i}`));
    const fs = ps.map((x) => p.seal(x));
    for (const x of ps) p.intend(x);
    for (const i of [2, 0, 2, 3, 1, 0, 3]) await p.sendFrame(fs[i] as Uint8Array);
    for (const x of ps) v.fail(!(await p.waitEcho(x)), 'a reordered record was not accepted');
  }),
  attack('6.8.1', 'a forged record with a guessed tag is not accepted', 'SPEC 7.1', async (env, p) => {
    const s = p.session!;
    const payload = env.payload('forged');
    const f = encodeRecordHeader(FrameType.DATA, s.id, 0, s.nextSeq + 1, payload.length + 16);
    f.set(payload, f.length - payload.length - 16);
    f.set(env.kit.provider.randomBytes(16), f.length - 16);
    await p.sendFrame(f);
  }),
];
