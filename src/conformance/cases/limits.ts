/** Group 12: size and encoding limits of handshakes and records. [SPEC 3.1, 3.3, 5.2, 8] */
import { concat, toHex } from '../../bytes/index.js';
import { encodeRecordHeader, FrameType } from '../../codec/frame.js';
import { derObjects } from '../../codec/pem.js';
import { decodeSignedClearToken1, encodeClearToken1, TOKEN_LIMITS, type ClearToken1, type Protection } from '../../codec/tokens.js';
import { defineCase, Verdict, type CaseEnv, type ConformanceCase } from '../case.js';
import type { KitParty } from '../party.js';
import type { PendingHandshake } from '../../session/handshake.js';
import { refusedHandshake, sidOf, signedInit, onSession } from './helpers.js';

function refusedInit(
  id: string,
  title: string,
  clause: string,
  hints: readonly string[],
  build: (env: CaseEnv, p: KitParty) => [Uint8Array, string],
): ConformanceCase {
  return defineCase(id, title, clause, async (env) => {
    const v = new Verdict();
    const p = env.party();
    const [frame, sid] = build(env, p);
    await p.sendFrame(frame);
    await refusedHandshake(env, p, sid, v, hints, 'the HS_INIT');
    return v.result();
  });
}

/** Suite and group ids no version of SPEC 4 assigns (an offer may carry ids the responder does not know, SPEC 5.5). */
const UNASSIGNED = 0x7f00;

interface TokenLimit {
  readonly protection?: Protection;
  /** The party sending the token: `over` one element over the limit, else exactly at it. */
  readonly party?: (env: CaseEnv, over: boolean) => KitParty;
  /** The genuine token `t` of the party, grown to the limit or one element over it. */
  readonly grow: (env: CaseEnv, t: ClearToken1, over: boolean) => ClearToken1;
}

/**
 * [SPEC 5.2] A limit of ClearToken1: a token one element over it (DER written by hand, signed with the kit party's
 * key, so only the limit is wrong) gets no session, no echo and no hint; the same token exactly at the limit is
 * accepted (a session, its early data echoed, a round trip).
 */
function tokenLimit(id: string, title: string, what: string, l: TokenLimit): ConformanceCase {
  return defineCase(id, title, 'SPEC 5.2, 3.6', async (env) => {
    const v = new Verdict();
    const protection = l.protection ?? 'confidentiality';
    const build = (p: KitParty, over: boolean): { frame: Uint8Array; token: ClearToken1; pending: PendingHandshake } => {
      // a party whose own id is over the limit cannot decode its token: it starts from another party's
      const from = p.id.length > TOKEN_LIMITS.maxId ? env.party('template') : p;
      const init = from.initiate({ protection });
      const t = decodeSignedClearToken1(init.frame.subarray(1)).token;
      const token = l.grow(env, { ...t, senderId: p.id, certificates: p.ctx.identity.chain }, over);
      const frame = signedInit(p, encodeClearToken1(token));
      // the transcript hashes the token as sent (SPEC 6.1)
      return { frame, token, pending: { ...init.pending, m1: frame.subarray(1) } };
    };
    const p = l.party?.(env, true) ?? env.party(undefined, { protection });
    const over = build(p, true);
    await p.sendFrame(over.frame);
    await refusedHandshake(env, p, toHex(over.token.sessionId), v, [], `the HS_INIT with ${what} over the limit`, {
      again: l.party === undefined,
    });
    v.fail(
      p.events.some((e) => e.kind === 'data'),
      'the IUT echoed something to the sender of the refused HS_INIT',
    );
    const q = l.party?.(env, false) ?? env.party('at', { protection });
    const at = build(q, false);
    q.expectResponse(at.pending);
    if (at.token.earlyData) q.intend(at.token.earlyData);
    await q.sendFrame(at.frame);
    const est = await q.waitFor((e) => (e.kind === 'established' || e.kind === 'hs-refused') && e.sid === toHex(at.token.sessionId));
    v.fail(est?.kind !== 'established', `the same HS_INIT with ${what} exactly at the limit was not answered`);
    if (est?.kind === 'established') {
      if (at.token.earlyData) v.fail(!(await q.waitEcho(at.token.earlyData)), 'the early data at the limit was not echoed');
      v.fail(!(await q.roundTrip()), 'no echo on the session at the limit');
      await env.settle();
      v.fail(q.overDelivered().length > 0, q.overDelivered().join('; '));
    }
    if (!v.failed) v.pass(`${what}: one over the limit refused, at the limit accepted`);
    return v.result();
  });
}

/** A kit party whose id is `length` characters long (a certificate naming it). */
function partyOfLength(env: CaseEnv, length: number): KitParty {
  const base = env.idFor();
  return env.party('x'.repeat(length - base.length - 1));
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
  tokenLimit('12.1.3', 'an HS_INIT with 5 key shares is refused; 4 are accepted', 'key shares', {
    grow: (env, t, over) => ({
      ...t,
      keyShares: [
        ...t.keyShares,
        ...Array.from({ length: TOKEN_LIMITS.maxKeyShares - t.keyShares.length + (over ? 1 : 0) }, (_, i) => ({
          group: UNASSIGNED + i,
          publicKey: env.kit.provider.randomBytes(32),
        })),
      ],
    }),
  }),
  tokenLimit('12.1.4', 'an HS_INIT offering 17 suites is refused; 16 are accepted', 'suites', {
    grow: (_env, t, over) => ({
      ...t,
      suites: [...t.suites, ...Array.from({ length: TOKEN_LIMITS.maxSuites - t.suites.length + (over ? 1 : 0) }, (_, i) => UNASSIGNED + i)],
    }),
  }),
  tokenLimit('12.1.5', 'early data over 32 KiB is refused (nothing echoed); exactly 32 KiB is accepted', 'early data', {
    protection: 'integrity',
    grow: (env, t, over) => ({
      ...t,
      earlyData: concat(env.payload('early at the limit'), new Uint8Array(TOKEN_LIMITS.maxEarlyData)).subarray(
        0,
        TOKEN_LIMITS.maxEarlyData + (over ? 1 : 0),
      ),
    }),
  }),
  tokenLimit('12.1.6', 'an HS_INIT with 9 certificates is refused; 8 are accepted', 'certificates', {
    // the chain, then copies of the trust anchor (a path builder may ignore certificates it does not need)
    grow: (env, t, over) => {
      const root = derObjects(env.kit.pki.roots[0] as string, ['CERTIFICATE'], 'certificate')[0] as Uint8Array;
      return {
        ...t,
        certificates: [
          ...t.certificates,
          ...Array.from({ length: TOKEN_LIMITS.maxCertificates - t.certificates.length + (over ? 1 : 0) }, () => root),
        ],
      };
    },
  }),
  tokenLimit('12.1.7', 'an HS_INIT from an id of 65 characters is refused; 64 are accepted', 'the sender id', {
    party: (env, over) => partyOfLength(env, TOKEN_LIMITS.maxId + (over ? 1 : 0)),
    grow: (_env, t) => t,
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
  // [SPEC 8.9] the IUT's default maxFrameSize is the mapping's: 256 KiB on MQTT (§8.2), 16 MiB on AMQP, 1 MiB on NATS
  onSession('12.2.6', "a frame larger than the mapping's maxFrameSize (MQTT: 256 KiB) is dropped", 'SPEC 8, 8.9', async (env, p, v) => {
    const size = env.wire.frameLimit + 44 * 1024;
    if (size > env.wire.maxPublish) {
      v.informational(
        `the server carries frames of at most ${env.wire.maxPublish} bytes (its max_payload), not above the IUT's ${env.wire.frameLimit}: no larger frame can reach the IUT here`,
      );
      return;
    }
    await p.sendFrame(p.seal(concat(env.payload('too large'), new Uint8Array(size))));
  }),
];
