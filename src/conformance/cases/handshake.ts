/** Groups 1 and 2: the handshake with the IUT as responder (every suite, both modes) and as initiator. [SPEC 5] */
import { toBase64 } from '../../bytes/index.js';
import { SUITES } from '../../crypto/suites.js';
import { createNodeProvider } from '../../crypto/node.js';
import { defineCase, Verdict, type CaseEnv, type ConformanceCase } from '../case.js';
import type { KitParty } from '../party.js';
import { flip, resignResponse, sidOf } from './helpers.js';
import { encodeControl } from '../contract.js';

const MANDATORY = 0x0101;
const kitProvider = createNodeProvider();

function responderCases(): ConformanceCase[] {
  const out: ConformanceCase[] = [];
  let n = 0;
  for (const s of SUITES) {
    for (const protection of ['confidentiality', 'integrity'] as const) {
      n++;
      out.push(
        defineCase(`1.1.${n}`, `handshake as responder: ${s.name}, ${protection}`, 'SPEC 5.4, 4.1', async (env) => {
          const v = new Verdict();
          if (!kitProvider.supportsGroup(s.group) || !kitProvider.supportsAead(s.aead)) return v.informational(`the kit's crypto provider has no ${s.name}`).result();
          const p = env.party(undefined, { suites: [s], protection });
          const session = await p.connect({ suites: [s], protection });
          if (!session) {
            if (s.id === MANDATORY) return v.fail(true, `no session with the mandatory suite ${s.name} in ${protection} mode`).result();
            return v.informational(`${s.name} not accepted (optional suite)`).result();
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
    if (!v.failed) v.pass(`HS_INIT ok (${t.protection}, ${t.suites.length} suites${early ? ', early data' : ''}), session established, message received`);
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
      await target.respondTo(frame, { before: (resp, suite) => [resignResponse(target, frame, resp, suite, (t) => ({ ...t, sessionId: t.sessionId.map((b) => b ^ 0xff) }))] });
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

export const handshakeCases: ConformanceCase[] = [...responderCases(), ...initiatorCases];
