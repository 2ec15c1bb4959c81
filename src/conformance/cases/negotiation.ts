/** Groups 3 and 4: negotiation (offer order, unsupported suites, key shares, downgrades) and freshness. [SPEC 5.4–5.6] */
import { decodeSignedClearToken1 } from '../../codec/tokens.js';
import { downgradeOffer, rewriteClearToken1 } from '../../adversary/forge.js';
import { defineCase, Verdict, type ConformanceCase } from '../case.js';
import { suite } from '../party.js';
import { askToOpen } from './handshake.js';
import { refusedHandshake, resignInit, resignInitBytes, resignResponse, sidOf } from './helpers.js';
import { SUITES } from '../../crypto/suites.js';

/** An HS_INIT of the case's party, rewritten and re-signed, must be refused with one of `hints`. */
function refusedInit(
  id: string,
  title: string,
  clause: string,
  hints: readonly string[],
  build: (env: Parameters<ConformanceCase['run']>[0], p: ReturnType<Parameters<ConformanceCase['run']>[0]['party']>) => Uint8Array,
): ConformanceCase {
  return defineCase(id, title, clause, async (env) => {
    const v = new Verdict();
    const p = env.party();
    const frame = build(env, p);
    await p.sendFrame(frame);
    await refusedHandshake(env, p, sidOf(frame), v, hints, 'the HS_INIT');
    return v.result();
  });
}

const X1 = suite(0x0101);
const X2 = suite(0x0102);
const X3 = suite(0x0103);
const P1 = suite(0x0201);

export const negotiationCases: ConformanceCase[] = [
  defineCase('3.1.1', "the responder selects the first suite of the initiator's order it accepts", 'SPEC 5.5', async (env) => {
    const v = new Verdict();
    const offer = [X3, X2, X1];
    const p = env.party(undefined, { suites: offer });
    const s = await p.connect({ suites: offer });
    if (!s) return v.fail(true, 'no session for an offer that includes the mandatory suite').result();
    const known = env.state.supportedSuites;
    const expected = offer.find((x) => known.has(x.id));
    if (known.size > 0 && expected)
      v.fail(s.suite.id !== expected.id, `selected ${s.suite.name}, expected ${expected.name} (first offered that the IUT accepts)`);
    else v.fail(!offer.some((x) => x.id === s.suite.id), 'selected a suite that was not offered');
    v.fail(!(await p.roundTrip()), 'no echo');
    if (!v.failed) v.pass(`selected ${s.suite.name}`);
    return v.result();
  }),
  defineCase('3.1.2', 'with the mandatory suite first, it is selected', 'SPEC 5.5', async (env) => {
    const v = new Verdict();
    const offer = [X1, X3, X2];
    const p = env.party(undefined, { suites: offer });
    const s = await p.connect({ suites: offer });
    if (!s) return v.fail(true, 'no session').result();
    v.fail(s.suite.id !== X1.id, `selected ${s.suite.name}, expected ${X1.name}`);
    v.fail(!(await p.roundTrip()), 'no echo');
    return v.result();
  }),
  refusedInit('3.1.3', 'an offer of unknown suite ids only is refused', 'SPEC 5.5', ['ERR_NEGOTIATION'], (_env, p) =>
    resignInit(p, p.initiate().frame, (t) => ({ ...t, suites: [0x7f01, 0x0909] })),
  ),
  refusedInit('3.1.4', 'a suite offered without a key share for its group is refused', 'SPEC 5.5', ['ERR_NEGOTIATION'], (_env, p) =>
    resignInit(p, p.initiate({ suites: [P1] }).frame, (t) => ({ ...t, suites: [X1.id] })),
  ),
  refusedInit('3.1.5', 'a key share of the wrong length is refused', 'SPEC 4.2, 4.4', [], (_env, p) =>
    resignInit(p, p.initiate().frame, (t) => ({
      ...t,
      keyShares: t.keyShares.map((k) => ({ ...k, publicKey: k.publicKey.subarray(0, 31) })),
    })),
  ),
  refusedInit('3.1.6', 'an all-zero X25519 key share is refused', 'SPEC 4.2', [], (_env, p) =>
    resignInit(p, p.initiate().frame, (t) => ({ ...t, keyShares: t.keyShares.map((k) => ({ ...k, publicKey: new Uint8Array(32) })) })),
  ),
  refusedInit('3.1.7', 'an offer downgraded by the intermediary is refused (signature)', 'SPEC 5.5', ['ERR_BAD_SIGNATURE'], (_env, p) =>
    downgradeOffer(p.initiate({ suites: [X3, X1] }).frame, [X1.id]),
  ),
  refusedInit('3.1.8', 'a protection mode altered by the intermediary is refused', 'SPEC 5.3, 5.5', ['ERR_BAD_SIGNATURE'], (_env, p) =>
    rewriteClearToken1(p.initiate({ protection: 'confidentiality' }).frame, (t) => ({ ...t, protection: 'integrity' })),
  ),
  refusedInit('3.1.9', 'a token with role = responder in an HS_INIT is refused', 'SPEC 5.4', [], (_env, p) =>
    resignInit(p, p.initiate().frame, (t) => ({ ...t, role: 'responder' })),
  ),
  refusedInit('3.1.10', 'a token addressed to another endpoint is refused', 'SPEC 5.4, 8.1', ['ERR_WRONG_PEER'], (env, p) =>
    resignInit(p, p.initiate().frame, (t) => ({ ...t, receiverId: `${env.iut}x`.slice(0, 64) })),
  ),
  refusedInit('3.1.11', 'a token of another version is refused (no hint: its session id cannot be read)', 'SPEC 5.4', [], (_env, p) =>
    resignInitBytes(p, p.initiate().frame, (tbs) => {
      // ClearToken1 ::= SEQUENCE { version INTEGER, ... }: the first INTEGER after the SEQUENCE header
      const at = (tbs[1] as number) & 0x80 ? 2 + ((tbs[1] as number) & 0x7f) : 2;
      const out = tbs.slice();
      if (out[at + 1] === 1 && out[at + 2] === 1) out[at + 2] = 2;
      return out;
    }),
  ),
  defineCase('3.2.1', 'IUT as initiator refuses a (signed) selection it did not offer', 'SPEC 5.4, 5.5', async (env) => {
    const v = new Verdict();
    const target = env.party();
    target.onInit = async (frame) => {
      const offered = new Set(target.events.flatMap((e) => (e.kind === 'hs-init' ? e.token.suites : [])));
      const other = SUITES.find((s) => !offered.has(s.id))?.id ?? 0x7f01;
      await target.respondTo(frame, { before: (resp, s) => [resignResponse(target, frame, resp, s, (t) => ({ ...t, suites: [other] }))] });
    };
    const data = env.payload('first');
    await askToOpen(env, target, data);
    v.fail(!(await target.waitEcho(data)), 'after a response selecting an unoffered suite, the genuine one did not complete the handshake');
    if (!v.failed) v.pass('unoffered selection refused, genuine response accepted');
    return v.result();
  }),
  defineCase('3.2.2', 'IUT as initiator refuses a (signed) response that changes the protection mode', 'SPEC 5.4', async (env) => {
    const v = new Verdict();
    const target = env.party();
    target.onInit = async (frame) => {
      await target.respondTo(frame, {
        before: (resp, s) => [
          resignResponse(target, frame, resp, s, (t) => ({
            ...t,
            protection: t.protection === 'integrity' ? 'confidentiality' : 'integrity',
          })),
        ],
      });
    };
    const data = env.payload('first');
    await askToOpen(env, target, data);
    v.fail(!(await target.waitEcho(data)), 'after a response with another mode, the genuine one did not complete the handshake');
    return v.result();
  }),
  defineCase('3.2.3', 'IUT as initiator refuses a response whose selection the intermediary altered', 'SPEC 5.5', async (env) => {
    const v = new Verdict();
    const target = env.party();
    target.onInit = async (frame) => {
      await target.respondTo(frame, { before: (resp, s) => [downgradeOffer(resp, [s.id === X3.id ? X1.id : X3.id])] });
    };
    const data = env.payload('first');
    await askToOpen(env, target, data);
    v.fail(!(await target.waitEcho(data)), 'after an altered response, the genuine one did not complete the handshake');
    return v.result();
  }),
];

export const freshnessCases: ConformanceCase[] = [
  refusedInit(
    '4.1.1',
    'a token stamped 60 s in the past is refused',
    'SPEC 5.6',
    ['ERR_STALE'],
    (_env, p) => p.initiate({ timestamp: Date.now() - 60_000 }).frame,
  ),
  refusedInit(
    '4.1.2',
    'a token stamped 60 s in the future is refused',
    'SPEC 5.6',
    ['ERR_STALE'],
    (_env, p) => p.initiate({ timestamp: Date.now() + 60_000 }).frame,
  ),
  refusedInit(
    '4.1.3',
    'a token stamped 31 s in the future is refused',
    'SPEC 5.6',
    ['ERR_STALE'],
    (_env, p) => p.initiate({ timestamp: Date.now() + 31_000 }).frame,
  ),
  defineCase('4.1.4', 'a token stamped inside the window (but after the IUT started) is accepted', 'SPEC 5.6', async (env) => {
    const v = new Verdict();
    const p = env.party();
    const ts = Math.max(Date.now() - 10_000, env.state.firstHandshakeAt + 1);
    const s = await p.connect({ timestamp: ts });
    v.fail(!s, `a token stamped ${Date.now() - ts} ms ago was refused`);
    if (s) v.fail(!(await p.roundTrip()), 'no echo');
    return v.result();
  }),
  defineCase('4.2.1', 'a replayed HS_INIT (byte for byte) gets no HS_RESP and leaves the session working', 'SPEC 5.6, 5.9', async (env) => {
    const v = new Verdict();
    const p = env.party();
    const { pending, frame } = p.initiate();
    p.expectResponse(pending);
    await p.sendFrame(frame);
    if (!(await p.waitFor((e) => e.kind === 'established'))) return v.fail(true, 'the IUT did not answer a genuine HS_INIT').result();
    const before = p.count('hs-resp');
    await p.sendFrame(frame);
    const ok = await p.roundTrip();
    await env.settle();
    v.fail(p.count('hs-resp') > before, 'the replayed HS_INIT was answered');
    v.fail(!ok, 'the session stopped working after the replay');
    v.nonStrict(p.count('hs-alert') > 0, 'an HS_ALERT answered the replay (SPEC 3.6: none for ERR_REPLAY)');
    return v.result();
  }),
  defineCase('4.2.2', 'a new token reusing an accepted random is refused', 'SPEC 5.6', async (env) => {
    const v = new Verdict();
    const p = env.party();
    const first = p.initiate();
    p.expectResponse(first.pending);
    await p.sendFrame(first.frame);
    if (!(await p.waitFor((e) => e.kind === 'established'))) return v.fail(true, 'the IUT did not answer a genuine HS_INIT').result();
    const q = env.party('b');
    const random = decodeSignedClearToken1(first.frame.subarray(1)).token.random;
    const reused = resignInit(q, q.initiate().frame, (t) => ({ ...t, random }));
    await q.sendFrame(reused);
    await refusedHandshake(env, q, sidOf(reused), v, [], 'a token with a replayed random');
    return v.result();
  }),
  defineCase('4.2.3', "a peer's HS_INIT replayed from another sender is refused", 'SPEC 5.4, 8.1', async (env) => {
    const v = new Verdict();
    const p = env.party();
    const q = env.party('b');
    const { frame } = p.initiate();
    await q.sendFrame(frame);
    await refusedHandshake(env, q, sidOf(frame), v, ['ERR_WRONG_PEER'], 'the HS_INIT of another sender');
    return v.result();
  }),
  defineCase('4.2.4', 'an HS_INIT duplicated by the intermediary is answered once', 'SPEC 5.6', async (env) => {
    const v = new Verdict();
    const p = env.party();
    const { pending, frame } = p.initiate();
    p.expectResponse(pending);
    await Promise.all([p.sendFrame(frame), p.sendFrame(frame), p.sendFrame(frame)]);
    if (!(await p.waitFor((e) => e.kind === 'established'))) return v.fail(true, 'no HS_RESP').result();
    const ok = await p.roundTrip();
    await env.settle();
    v.fail(p.count('hs-resp') !== 1, `${p.count('hs-resp')} HS_RESP for one HS_INIT sent three times`);
    v.fail(!ok, 'no echo');
    return v.result();
  }),
];
