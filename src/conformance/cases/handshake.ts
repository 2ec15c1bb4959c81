/** Groups 1 and 2: the handshake with the IUT as responder (every suite, both modes) and as initiator. [SPEC 5] */
import { equal, toBase64, toHex } from '../../bytes/index.js';
import type { Session } from '../../session/session.js';
import { SUITES, type Suite } from '../../crypto/suites.js';
import { offeredSuites } from '../../session/handshake.js';
import { createNodeProvider } from '../../crypto/node.js';
import { defineCase, Verdict, type CaseEnv, type ConformanceCase } from '../case.js';
import type { KitParty } from '../party.js';
import { flip, resignResponse, sidOf } from './helpers.js';
import { encodeControl, MANDATORY_SUITE } from '../contract.js';

const MANDATORY = MANDATORY_SUITE;
const kitProvider = createNodeProvider();

/** How a suite is declared to the kit (Annex C.1, `--suite`): what a refusal of it means. */
function declaration(env: CaseEnv, s: Suite): 'mandatory' | 'declared' | 'undeclared' | 'not-declared' {
  if (s.id === MANDATORY) return 'mandatory';
  const d = env.state.iutSuites;
  if (!d) return 'not-declared';
  return d.some((x) => x.id === s.id) ? 'declared' : 'undeclared';
}

/** The reason an optional suite the IUT did not accept or offer is informational (SPEC 4.1: optional, opt-in). */
function optional(s: Suite, what: string, d: 'undeclared' | 'not-declared'): string {
  return d === 'undeclared'
    ? `${s.name} ${what}: an optional suite (SPEC 4.1) the IUT does not enable (not in --suite)`
    : `${s.name} ${what}: an optional suite (SPEC 4.1); the IUT's suites were not declared (--suite NAME tells the kit which it enables, then a refusal fails)`;
}

function responderCases(): ConformanceCase[] {
  const out: ConformanceCase[] = [];
  let n = 0;
  for (const s of SUITES) {
    for (const protection of ['confidentiality', 'integrity'] as const) {
      n++;
      out.push(
        defineCase(`1.1.${n}`, `handshake as responder: ${s.name}, ${protection}`, 'SPEC 5.4, 4.1', async (env) => {
          const v = new Verdict();
          if (!kitProvider.supportsGroup(s.group) || !kitProvider.supportsAead(s.aead))
            return v.informational(`the kit's crypto provider has no ${s.name}`).result();
          const p = env.party(undefined, { suites: [s], protection });
          const session = await p.connect({ suites: [s], protection });
          if (!session) {
            const d = declaration(env, s);
            if (d === 'mandatory') return v.fail(true, `no session with the mandatory suite ${s.name} in ${protection} mode`).result();
            if (d === 'declared')
              return v.fail(true, `no session with ${s.name} in ${protection} mode, which the IUT enables (--suite)`).result();
            return v.informational(optional(s, 'not accepted', d)).result();
          }
          v.fail(session.suite.id !== s.id || session.protection !== protection, 'the session does not use the offered suite and mode');
          v.fail(!(await p.roundTrip()), 'no echo on the new session');
          if (!v.failed) {
            env.state.supportedSuites.add(s.id);
            v.pass(`session ${s.name}/${protection}, echo received`);
          }
          return v.result();
        }),
      );
    }
  }
  return out;
}

/** Asks the IUT (over a fresh session of `env`) to open a session to `target` carrying `data`. */
export async function askToOpen(env: CaseEnv, target: KitParty, data: Uint8Array): Promise<{ main: KitParty; control: Uint8Array }> {
  const main = await env.connected('ctl');
  const control = encodeControl({ op: 'open', peer: target.id, data: toBase64(data) });
  await main.send(control);
  return { main, control };
}

const initiatorCases: ConformanceCase[] = [
  defineCase('2.1.1', 'IUT initiates on request; its HS_INIT is well-formed', 'SPEC 5.3, 5.4', async (env) => {
    const v = new Verdict();
    const target = env.party();
    const data = env.payload('first message');
    const { main, control } = await askToOpen(env, target, data);
    v.fail(!(await main.waitEcho(control)), 'the control message was not echoed');
    const init = await target.waitFor((e) => e.kind === 'hs-init');
    if (!init || init.kind !== 'hs-init') return v.fail(true, 'no HS_INIT from the IUT').result();
    const t = init.token;
    v.fail(t.role !== 'initiator', 'role is not initiator');
    v.fail(t.senderId !== env.iut || t.receiverId !== target.id, 'senderId/receiverId do not name the IUT and the kit id');
    v.fail(Math.abs(t.timestamp - Date.now()) > 30_000, 'timestamp is off by more than the freshness window');
    v.fail(t.random.length !== 16 || t.sessionId.length !== 8, 'random or session id has the wrong length');
    v.fail(t.keyShares.length < 1 || t.keyShares.length > 4, 'not 1-4 key shares');
    v.fail(new Set(t.keyShares.map((k) => k.group)).size !== t.keyShares.length, 'two key shares for one group');
    v.nonStrict(!t.suites.includes(MANDATORY), 'the offer does not include the mandatory suite 0x0101');
    v.fail(t.earlyData !== undefined && t.protection !== 'integrity', 'early data outside integrity mode');
    const got = await target.waitEcho(data);
    const early = t.earlyData !== undefined;
    v.fail(!got, 'the requested message did not arrive on the session the IUT opened');
    if (got) v.fail(!(await target.roundTrip()), 'the IUT did not echo on the session it initiated');
    if (!v.failed)
      v.pass(
        `HS_INIT ok (${t.protection}, ${t.suites.length} suites${early ? ', early data' : ''}), session established, message received`,
      );
    return v.result();
  }),
  defineCase('2.1.2', 'a forged HS_RESP (bad signature) does not abort the pending handshake', 'SPEC 5.4', async (env) => {
    const v = new Verdict();
    const target = env.party();
    target.onInit = async (frame) => {
      await target.respondTo(frame, { before: (resp) => [flip(resp, 'signature', 5)] });
    };
    const data = env.payload('first');
    await askToOpen(env, target, data);
    v.fail(!(await target.waitEcho(data)), 'the genuine HS_RESP after a forged one did not complete the handshake');
    if (!v.failed) v.fail(!(await target.roundTrip()), 'no echo afterwards');
    if (!v.failed) v.pass('forged response ignored, genuine one completed the handshake');
    return v.result();
  }),
  defineCase('2.1.3', 'an HS_RESP naming another session id is ignored', 'SPEC 5.4', async (env) => {
    const v = new Verdict();
    const target = env.party();
    target.onInit = async (frame) => {
      await target.respondTo(frame, {
        before: (resp, suite) => [
          resignResponse(target, frame, resp, suite, (t) => ({ ...t, sessionId: t.sessionId.map((b) => b ^ 0xff) })),
        ],
      });
    };
    const data = env.payload('first');
    await askToOpen(env, target, data);
    v.fail(!(await target.waitEcho(data)), 'the handshake did not complete after a response for another session');
    if (!v.failed) v.pass('response for another session ignored');
    return v.result();
  }),
  defineCase('2.1.4', 'an HS_RESP from another sender is ignored', 'SPEC 5.4, 8.1', async (env) => {
    const v = new Verdict();
    const target = env.party();
    const intruder = env.idFor('x');
    target.onInit = async (frame) => {
      await target.respondTo(frame, { before: (resp) => [resp], via: intruder });
    };
    const data = env.payload('first');
    await askToOpen(env, target, data);
    v.fail(!(await target.waitEcho(data)), 'the genuine HS_RESP did not complete the handshake after a copy from another sender');
    if (!v.failed) v.pass('response from the wrong sender ignored');
    return v.result();
  }),
  defineCase('2.1.5', 'IUT re-sends its HS_INIT byte for byte when no response comes', 'SPEC 5.7', async (env) => {
    const v = new Verdict();
    const target = env.party();
    let first: Uint8Array | undefined;
    target.onInit = async (frame) => {
      if (!first) {
        first = frame; // dropped: no answer
        return;
      }
      await target.respondTo(frame);
    };
    const data = env.payload('first');
    await askToOpen(env, target, data);
    const second = await target.waitFor((e) => e.kind === 'hs-init' && first !== undefined && e.frame !== first, env.timeoutMs + 2500);
    if (!second || second.kind !== 'hs-init') return v.nonStrict(true, 'no second HS_INIT within handshakeRetryMs + timeout').result();
    v.nonStrict(first !== undefined && sidOf(first) !== sidOf(second.frame), 'the re-sent HS_INIT is a new handshake, not the same one');
    v.fail(!(await target.waitEcho(data)), 'the answered re-send did not establish the session');
    if (!v.failed) v.pass('HS_INIT re-sent and answered');
    return v.result();
  }),
];

/** Sends `label` on session `on` (not necessarily the party's current one) and waits for its echo; the session id it came on. */
async function echoOn(env: CaseEnv, p: KitParty, on: Session, label: string): Promise<string | undefined> {
  const x = env.payload(label);
  const f = p.seal(x, on);
  p.intend(x);
  await p.sendFrame(f);
  const e = await p.waitFor((o) => o.kind === 'data' && equal(o.payload, x));
  return e?.kind === 'data' ? e.sid : undefined;
}

/** A second (verified) HS_INIT from `p`, answered by the IUT: the candidate session (the party's current one now). */
async function candidate(p: KitParty, v: Verdict): Promise<Session | undefined> {
  const { pending, frame } = p.initiate();
  p.expectResponse(pending);
  await p.sendFrame(frame);
  const sid = sidOf(frame);
  const est = await p.waitFor((e) => e.kind === 'established' && e.sid === sid);
  if (!est) {
    v.fail(true, 'the IUT did not answer a verified HS_INIT of a peer it has a session with');
    return undefined;
  }
  const ku = await p.waitFor((e) => e.kind === 'key-update' && e.sid === sid && e.requestUpdate);
  v.nonStrict(!ku, 'the HS_RESP of the replacing handshake carried no KEY_UPDATE with requestUpdate = true');
  return p.session;
}

const replacementCases: ConformanceCase[] = [
  defineCase(
    '1.2.1',
    'a second HS_INIT of a live peer: the old session keeps working until the kit proves the new keys, then the new one is used',
    'SPEC 5.9',
    async (env) => {
      const v = new Verdict();
      const p = await env.connected();
      p.answerKeyUpdates = false; // the kit proves the candidate when it chooses
      const old = p.session!;
      const next = await candidate(p, v);
      if (!next) return v.result();
      const oldSid = toHex(old.id);
      const newSid = toHex(next.id);
      const before = await echoOn(env, p, old, 'on the old session, candidate unproven');
      v.fail(before === undefined, 'no echo on the established session while the candidate was unproven');
      v.fail(before === newSid, 'the echo came on the unproven candidate: it replaced the session before the kit proved its keys');
      await p.sendFrame(next.keyUpdate(Date.now(), false)); // the answering KEY_UPDATE proves the keys (SPEC 7.2)
      const after = await echoOn(env, p, next, 'on the proven session');
      v.fail(
        after !== newSid,
        after === undefined ? 'no echo on the new session once proven' : 'the echo on the proven session came on the old one',
      );
      await env.settle();
      v.fail(p.overDelivered().length > 0, p.overDelivered().join('; '));
      if (!v.failed) v.pass(`echo on ${oldSid} while the candidate was unproven, on ${newSid} once proven`);
      return v.result();
    },
  ),
  defineCase(
    '1.2.2',
    'unproven candidates (none, a forged proof, a newer candidate) never replace the live session',
    'SPEC 5.9',
    async (env) => {
      const v = new Verdict();
      const p = await env.connected();
      p.answerKeyUpdates = false;
      const old = p.session!;
      const oldSid = toHex(old.id);
      const first = await candidate(p, v);
      if (!first) return v.result();
      v.fail((await echoOn(env, p, old, 'candidate unproven')) !== oldSid, 'no echo on the established session with an unproven candidate');
      // a proof with a bad tag proves nothing
      await p.sendFrame(flip(first.keyUpdate(Date.now(), false), 'tag', 7));
      v.fail(
        (await echoOn(env, p, old, 'after a forged proof')) !== oldSid,
        'a KEY_UPDATE with a bad tag on the candidate displaced the established session',
      );
      const second = await candidate(p, v);
      if (second)
        v.fail(
          (await echoOn(env, p, old, 'newer candidate unproven')) !== oldSid,
          'a newer unproven candidate displaced the established session',
        );
      await env.sleep(env.settleMs * 2);
      v.fail((await echoOn(env, p, old, 'later')) !== oldSid, 'the established session stopped answering while candidates were unproven');
      const candidates = new Set([toHex(first.id), ...(second ? [toHex(second.id)] : [])]);
      v.fail(
        p.events.some((e) => e.kind === 'data' && candidates.has(e.sid)),
        'the IUT sent application data on an unproven candidate',
      );
      await env.settle();
      v.fail(p.overDelivered().length > 0, p.overDelivered().join('; '));
      if (!v.failed) v.pass('every echo came on the established session');
      return v.result();
    },
  ),
];

/**
 * [SPEC 5.5] The IUT as initiator in each suite: the kit's responder accepts only that suite, so it is selected
 * whenever the IUT offers it (Annex C.2: the control message names no suite; the responder's choice is enough).
 */
function initiatorSuiteCases(): ConformanceCase[] {
  return SUITES.map((s, i) =>
    defineCase(`2.2.${i + 1}`, `IUT initiates; the kit selects ${s.name}`, 'SPEC 5.4, 5.5, 4.1', async (env) => {
      const v = new Verdict();
      if (!kitProvider.supportsGroup(s.group) || !kitProvider.supportsAead(s.aead))
        return v.informational(`the kit's crypto provider has no ${s.name}`).result();
      const target = env.party(undefined, { responderSuites: [s] });
      const data = env.payload(`first in ${s.name}`);
      await askToOpen(env, target, data);
      const init = await target.waitFor((e) => e.kind === 'hs-init');
      if (!init || init.kind !== 'hs-init') return v.fail(true, 'no HS_INIT from the IUT').result();
      if (!init.token.suites.includes(s.id)) {
        const d = declaration(env, s);
        if (d === 'mandatory') return v.fail(true, `the IUT's offer lacks the mandatory suite ${s.name}`).result();
        if (d === 'declared') {
          // [SPEC 4.1, 5.4] an enabled suite of a fifth or later group is left out of the offer (4 key shares at most)
          if (!offeredSuites(env.state.iutSuites ?? []).some((x) => x.id === s.id))
            return v
              .informational(
                `${s.name} is enabled (--suite) but not offerable: its group is the IUT's fifth or later and an HS_INIT carries key shares for 4 groups at most (SPEC 4.1, 5.4)`,
              )
              .result();
          return v
            .fail(true, `the IUT's offer lacks ${s.name}, which it enables (--suite) among its first 4 groups (SPEC 4.1, 5.4)`)
            .result();
        }
        return v.informational(optional(s, 'not offered by the IUT', d)).result();
      }
      const est = await target.waitFor((e) => e.kind === 'established' || e.kind === 'hs-refused');
      if (est?.kind !== 'established')
        return v
          .fail(
            true,
            `the IUT offered ${s.name} but its HS_INIT could not be answered with it (${est?.kind === 'hs-refused' ? est.code : 'no session'})`,
          )
          .result();
      v.fail(est.suite !== s.id, `the session uses suite 0x${est.suite.toString(16)}`);
      v.fail(!(await target.waitEcho(data)), `the requested message did not arrive on the ${s.name} session the IUT opened`);
      v.fail(!(await target.roundTrip()), 'no echo on the session the IUT initiated');
      if (!v.failed) v.pass(`session in ${s.name}/${init.token.protection} initiated by the IUT`);
      return v.result();
    }),
  );
}

/**
 * [SPEC 5.3] The IUT as initiator in each protection mode. The mode is the initiator's choice and Annex C has no
 * control message for it: the mode the IUT does not choose is reported as informational.
 */
function initiatorModeCases(): ConformanceCase[] {
  return (['confidentiality', 'integrity'] as const).map((mode, i) =>
    defineCase(`2.3.${i + 1}`, `IUT initiates in ${mode} mode`, 'SPEC 5.3, 5.4, 7.1', async (env) => {
      const v = new Verdict();
      const target = env.party();
      const data = env.payload(`first in ${mode}`);
      await askToOpen(env, target, data);
      const init = await target.waitFor((e) => e.kind === 'hs-init');
      if (!init || init.kind !== 'hs-init') return v.fail(true, 'no HS_INIT from the IUT').result();
      if (init.token.protection !== mode)
        return v
          .informational(`the IUT initiates in ${init.token.protection} mode (its choice; Annex C.2 cannot ask for ${mode})`)
          .result();
      v.fail(!(await target.waitEcho(data)), `the requested message did not arrive on the ${mode} session`);
      v.fail(!(await target.roundTrip()), 'no echo on the session the IUT initiated');
      if (!v.failed) v.pass(`${mode} session initiated by the IUT`);
      return v.result();
    }),
  );
}

export const handshakeCases: ConformanceCase[] = [
  ...responderCases(),
  ...replacementCases,
  ...initiatorCases,
  ...initiatorSuiteCases(),
  ...initiatorModeCases(),
];
