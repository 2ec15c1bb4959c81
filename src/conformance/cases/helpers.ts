/** Building blocks shared by the case groups: attacks on frames, and the checks every case ends with. [SPEC Annex C.3] */
import { concat, toHex } from '../../bytes/index.js';
import { varintLength, writeVarint } from '../../codec/varint.js';
import { frameByte, FrameType } from '../../codec/frame.js';
import { encodeClearToken1, encodeSignedClearToken1, decodeSignedClearToken1, type ClearToken1 } from '../../codec/tokens.js';
import { encodeHandshakeInit, encodeHandshakeResponse, decodeHandshakeResponse } from '../../codec/frame.js';
import { locateRegion, type RegionName } from '../../adversary/regions.js';
import { SIGN_CONTEXT } from '../../session/handshake.js';
import { transcriptA } from '../../session/key-schedule.js';
import type { Suite } from '../../crypto/suites.js';
import { defineCase, Verdict, type CaseEnv, type CaseResult, type ConformanceCase } from '../case.js';
import type { KitParty } from '../party.js';

/** Flips bit `bit` (MSB first; negative from the end) of `region`; throws when the frame has no such region. */
export function flip(frame: Uint8Array, region: RegionName, bit = 0, tagLength?: number): Uint8Array {
  const r = locateRegion(frame, region, tagLength === undefined ? {} : { tagLength });
  if (!r) throw new Error(`frame has no ${region} region`);
  const width = (r.end - r.start) * 8;
  const b = ((bit % width) + width) % width;
  const out = frame.slice();
  const at = r.start + (b >>> 3);
  out[at] = (out[at] as number) ^ (0x80 >>> (b & 7));
  return out;
}

/** [SPEC 3.7] A BATCH frame from raw entries, valid or not (no checks: malformed batches are the point). */
export function rawBatch(entries: readonly Uint8Array[], trailing: Uint8Array = new Uint8Array(0)): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(frameByte(FrameType.BATCH))];
  for (const e of entries) {
    const len = new Uint8Array(varintLength(e.length));
    writeVarint(len, 0, e.length);
    parts.push(len, e);
  }
  parts.push(trailing);
  return concat(...parts);
}

/** Rewrites the ClearToken1 of an HS_INIT and signs it again with `party`'s key (the kit is a legitimate initiator). */
export function resignInit(party: KitParty, frame: Uint8Array, mutate: (t: ClearToken1) => ClearToken1): Uint8Array {
  const st = decodeSignedClearToken1(frame.subarray(1));
  return signedInit(party, encodeClearToken1(mutate(st.token)));
}

/** An HS_INIT carrying `tbs` (a ClearToken1's DER), signed with `party`'s key: a legitimate initiator's token. */
export function signedInit(party: KitParty, tbs: Uint8Array): Uint8Array {
  const sig = party.ctx.provider.sign(party.ctx.identity.privateKey, concat(SIGN_CONTEXT.initiator, tbs));
  return encodeHandshakeInit(encodeSignedClearToken1(tbs, sig));
}

/** Like resignInit, on the to-be-signed DER bytes themselves (values the token encoder would refuse). */
export function resignInitBytes(party: KitParty, frame: Uint8Array, mutate: (tbs: Uint8Array) => Uint8Array): Uint8Array {
  const tbs = mutate(decodeSignedClearToken1(frame.subarray(1)).tbs);
  const sig = party.ctx.provider.sign(party.ctx.identity.privateKey, concat(SIGN_CONTEXT.initiator, tbs));
  return encodeHandshakeInit(encodeSignedClearToken1(tbs, sig));
}

/** Rewrites the responder token of an HS_RESP and signs it again over hA of `init` (the IUT's HS_INIT) with `party`'s key. */
export function resignResponse(
  party: KitParty,
  init: Uint8Array,
  resp: Uint8Array,
  suite: Suite,
  mutate: (t: ClearToken1) => ClearToken1,
): Uint8Array {
  const r = decodeHandshakeResponse(resp);
  const st = decodeSignedClearToken1(r.token);
  const tbs = encodeClearToken1(mutate(st.token));
  const hA = transcriptA(party.ctx.provider, suite, init.subarray(1));
  const sig = party.ctx.provider.sign(party.ctx.identity.privateKey, concat(SIGN_CONTEXT.responder, hA, tbs));
  return encodeHandshakeResponse(encodeSignedClearToken1(tbs, sig), r.record);
}

/** The session id of an HS_INIT, as the party's events name it. */
export function sidOf(init: Uint8Array): string {
  try {
    return toHex(decodeSignedClearToken1(init.subarray(1)).token.sessionId);
  } catch {
    // a token the decoder refuses (another version…): its session id is the first 8-byte OCTET STRING
    for (let i = 1; i + 10 <= init.length; i++) if (init[i] === 0x04 && init[i + 1] === 0x08) return toHex(init.subarray(i + 2, i + 10));
    throw new Error('no session id in the HS_INIT');
  }
}

/**
 * The end of every attack on a live session: a genuine message must still be echoed, and nothing the kit did not
 * mean to be accepted may have been echoed before it (echoes come in acceptance order), nor during the settle time.
 */
export async function stillAnswers(env: CaseEnv, p: KitParty, v: Verdict): Promise<void> {
  const ok = await p.roundTrip();
  v.fail(!ok, 'the IUT did not echo a genuine message after the attack');
  await env.settle();
  const over = p.overDelivered();
  v.fail(over.length > 0, `accepted what it must refuse: ${over.join('; ')}`);
  if (ok && over.length === 0) v.pass('nothing forged was echoed; a genuine message still is');
}

/**
 * After an HS_INIT that must be refused: no HS_RESP for `sid` (checked after a genuine round trip of another party
 * and the settle time), the hint (if any) is one of `hints` (`[]`: none should be sent), and a genuine handshake
 * from the same id still works.
 */
export async function refusedHandshake(
  env: CaseEnv,
  p: KitParty,
  sid: string,
  v: Verdict,
  hints: readonly string[],
  what: string,
  o: { again?: boolean } = {},
): Promise<void> {
  const other = await env.connected('live');
  const ok = await other.roundTrip();
  v.fail(!ok, 'the IUT did not echo a genuine message on another session');
  await env.settle();
  const resp = p.events.some((e) => (e.kind === 'hs-resp' || e.kind === 'established') && e.sid === sid);
  v.fail(resp, `the IUT answered ${what} with an HS_RESP`);
  const alerts = p.events.filter((e) => e.kind === 'hs-alert' && e.sid === sid).map((e) => (e.kind === 'hs-alert' ? e.code : ''));
  if (hints.length === 0) v.nonStrict(alerts.length > 0, `a hint (${alerts.join(', ')}) was sent where SPEC 3.6 sends none`);
  else
    v.nonStrict(
      !alerts.some((a) => hints.includes(a)),
      alerts.length > 0
        ? `HS_ALERT ${alerts.join(', ')}, expected ${hints.join(' or ')}`
        : `no HS_ALERT hint (expected ${hints.join(' or ')})`,
    );
  if (!resp) v.pass(`${what} refused`);
  p.close();
  if (o.again === false) return; // the id itself is what was refused
  const again = env.party(p.id.slice(env.idFor().length + 1) || undefined);
  const s = await again.connect();
  v.fail(!s, 'a genuine handshake from the same id failed afterwards');
  if (s) v.fail(!(await again.roundTrip()), 'no echo on the genuine session that followed');
}

/** A case run on an established session with the IUT, ending with the check that it still answers a genuine message. */
export function onSession(
  id: string,
  title: string,
  clause: string,
  run: (env: CaseEnv, p: KitParty, v: Verdict) => Promise<void>,
): ConformanceCase {
  return defineCase(id, title, clause, async (env): Promise<CaseResult> => {
    const v = new Verdict();
    const p = await env.connected();
    await run(env, p, v);
    await stillAnswers(env, p, v);
    return v.result();
  });
}

/**
 * [SPEC 7.4, 13.6] Moves the IUT's replay window on: sends `n` fresh genuine messages through `send` and returns the
 * last one (whose echo says all `n` were taken, messages of one sender being echoed in order).
 */
export async function fillWindow(env: CaseEnv, n: number, send: (x: Uint8Array) => Promise<unknown>): Promise<Uint8Array> {
  let last: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < n; i++) {
    last = env.payload(`fill ${i}`);
    await send(last);
  }
  return last;
}
