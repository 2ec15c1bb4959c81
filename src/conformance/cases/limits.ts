/** Group 12: size and encoding limits of handshakes and records. [SPEC 3.1, 3.3, 5.2, 8] */
import { concat } from '../../bytes/index.js';
import { encodeRecordHeader, FrameType } from '../../codec/frame.js';
import { defineCase, Verdict, type CaseEnv, type CaseResult, type ConformanceCase } from '../case.js';
import type { KitParty } from '../party.js';
import { refusedHandshake, sidOf, stillAnswers } from './helpers.js';

function onSession(id: string, title: string, clause: string, run: (env: CaseEnv, p: KitParty, v: Verdict) => Promise<void>): ConformanceCase {
  return defineCase(id, title, clause, async (env): Promise<CaseResult> => {
    const v = new Verdict();
    const p = await env.connected();
    await run(env, p, v);
    await stillAnswers(env, p, v);
    return v.result();
  });
}

function refusedInit(id: string, title: string, clause: string, hints: readonly string[], build: (env: CaseEnv, p: KitParty) => [Uint8Array, string]): ConformanceCase {
  return defineCase(id, title, clause, async (env) => {
    const v = new Verdict();
    const p = env.party();
    const [frame, sid] = build(env, p);
    await p.sendFrame(frame);
    await refusedHandshake(env, p, sid, v, hints, 'the HS_INIT');
    return v.result();
  });
}

export const limitCases: ConformanceCase[] = [
  refusedInit('12.1.1', 'an HS_INIT larger than 64 KiB is refused (no hint)', 'SPEC 5.2, 3.6', [], (_env, p) => {
    const f = p.initiate().frame;
    return [concat(f, new Uint8Array(66 * 1024 - f.length)), sidOf(f)];
  }),
  refusedInit('12.1.2', 'an HS_INIT with trailing bytes after the token is refused', 'SPEC 5.1', [], (_env, p) => {
    const f = p.initiate().frame;
    return [concat(f, Uint8Array.of(0)), sidOf(f)];
  }),
  onSession('12.2.1', 'a record whose sequence number exceeds 2^48 − 1 is refused', 'SPEC 3.3', async (env, p) => {
    const s = p.session!;
    const body = env.kit.provider.randomBytes(40);
    const f = encodeRecordHeader(FrameType.DATA, s.id, 0, 2 ** 48, body.length);
    f.set(body, f.length - body.length);
    await p.sendFrame(f);
  }),
  onSession('12.2.2', 'a record whose sequence number is not minimally encoded is refused', 'SPEC 3.2, 3.3', async (env, p) => {
    const f = p.seal(env.payload('non-minimal'));
    // seq 0 as the two-byte varint 0x40 0x00
    await p.sendFrame(concat(f.subarray(0, 11), Uint8Array.of(0x40), f.subarray(11)));
  }),
  onSession('12.2.3', 'a frame of another protocol version is refused and does not use up its record', 'SPEC 3.1', async (env, p, v) => {
    const x = env.payload('version 2');
    const f = p.seal(x);
    const v2 = f.slice();
    v2[0] = 0x20 | ((f[0] as number) & 0x0f);
    await p.sendFrame(v2);
    p.intend(x);
    await p.sendFrame(f);
    v.fail(!(await p.waitEcho(x)), 'the record, refused under another version, was not accepted afterwards');
  }),
  onSession('12.2.4', 'frames of unknown type, empty frames and one-byte frames are refused', 'SPEC 3.1', async (_env, p) => {
    await p.sendFrame(Uint8Array.of(0x1f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
    await p.sendFrame(Uint8Array.of(0x10));
    await p.sendFrame(new Uint8Array(0));
    await p.sendFrame(Uint8Array.of(0x13));
  }),
  onSession('12.2.5', 'a 200 KiB message (within the 256 KiB frame bound) is accepted', 'SPEC 8.2', async (env, p, v) => {
    const x = concat(env.payload('large'), new Uint8Array(200 * 1024).fill(0x63));
    await p.send(x);
    v.fail(!(await p.waitEcho(x, env.timeoutMs * 2)), 'a 200 KiB message was not echoed');
  }),
  onSession('12.2.6', 'a frame larger than 256 KiB is dropped', 'SPEC 8, 8.9', async (env, p) => {
    await p.sendFrame(p.seal(concat(env.payload('too large'), new Uint8Array(300 * 1024))));
  }),
];
