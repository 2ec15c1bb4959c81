/** Group 10: early data — integrity mode only, delivered once, and only once a replacing session is proven. [SPEC 5.3, 5.6, 5.9] */
import { rewriteClearToken1 } from '../../adversary/forge.js';
import { defineCase, Verdict, type ConformanceCase } from '../case.js';
import { refusedHandshake, resignInit, sidOf } from './helpers.js';

export const earlyDataCases: ConformanceCase[] = [
  defineCase('10.1.1', 'early data in integrity mode is accepted (echoed) once', 'SPEC 5.3', async (env) => {
    const v = new Verdict();
    const p = env.party(undefined, { protection: 'integrity' });
    const x = env.payload('early');
    p.intend(x);
    const s = await p.connect({ protection: 'integrity', earlyData: x });
    if (!s) return v.fail(true, 'an integrity HS_INIT with early data was refused').result();
    v.fail(!(await p.waitEcho(x)), 'the early data was not echoed');
    v.fail(!(await p.roundTrip()), 'no echo afterwards');
    await env.settle();
    v.fail(p.overDelivered().length > 0, p.overDelivered().join('; '));
    return v.result();
  }),
  defineCase('10.1.2', 'early data in confidentiality mode is refused', 'SPEC 5.3, 5.4', async (env) => {
    const v = new Verdict();
    const p = env.party();
    const x = env.payload('early');
    const frame = resignInit(p, p.initiate({ protection: 'integrity', earlyData: x }).frame, (t) => ({
      ...t,
      protection: 'confidentiality',
    }));
    await p.sendFrame(frame);
    await refusedHandshake(env, p, sidOf(frame), v, ['ERR_NEGOTIATION'], 'early data in confidentiality mode');
    v.fail(
      p.events.some((e) => e.kind === 'data'),
      'the early data was echoed',
    );
    return v.result();
  }),
  defineCase('10.1.3', 'a replayed HS_INIT never delivers its early data twice', 'SPEC 5.6', async (env) => {
    const v = new Verdict();
    const p = env.party(undefined, { protection: 'integrity' });
    const x = env.payload('early once');
    p.intend(x);
    const { pending, frame } = p.initiate({ protection: 'integrity', earlyData: x });
    p.expectResponse(pending);
    await p.sendFrame(frame);
    v.fail(!(await p.waitEcho(x)), 'the early data was not echoed');
    await p.sendFrame(frame);
    await p.sendFrame(frame);
    v.fail(!(await p.roundTrip()), 'no echo afterwards');
    await env.settle();
    v.fail(p.overDelivered().length > 0, `early data delivered twice: ${p.overDelivered().join('; ')}`);
    return v.result();
  }),
  defineCase(
    '10.1.4',
    'early data on a replacing handshake is accepted only once the initiator proved its keys',
    'SPEC 5.9',
    async (env) => {
      const v = new Verdict();
      const p = await env.connected(undefined, { protection: 'integrity' });
      p.answerKeyUpdates = false;
      const x = env.payload('early on replacement');
      const { pending, frame } = p.initiate({ protection: 'integrity', earlyData: x });
      p.expectResponse(pending);
      await p.sendFrame(frame);
      const est = await p.waitFor((e) => e.kind === 'established' && e.sid === sidOf(frame));
      if (!est) return v.fail(true, 'the replacing HS_INIT was not answered').result();
      const ku = await p.waitFor((e) => e.kind === 'key-update' && e.sid === sidOf(frame) && e.requestUpdate);
      v.nonStrict(!ku, 'the HS_RESP of a replacement carried no KEY_UPDATE requestUpdate');
      await env.sleep(env.settleMs * 2);
      v.fail(
        p.events.some((e) => e.kind === 'data'),
        'the early data of an unproven replacement was accepted',
      );
      p.intend(x);
      await p.sendFrame(p.session!.keyUpdate(Date.now(), false));
      v.fail(!(await p.waitEcho(x)), 'the early data was not accepted once the new session was proven');
      v.fail(!(await p.roundTrip()), 'no echo on the new session');
      await env.settle();
      v.fail(p.overDelivered().length > 0, p.overDelivered().join('; '));
      return v.result();
    },
  ),
  defineCase('10.1.5', 'early data the intermediary altered is refused (signature)', 'SPEC 5.3', async (env) => {
    const v = new Verdict();
    const p = env.party(undefined, { protection: 'integrity' });
    const x = env.payload('early');
    const frame = rewriteClearToken1(p.initiate({ protection: 'integrity', earlyData: x }).frame, (t) => ({
      ...t,
      earlyData: env.payload('altered'),
    }));
    await p.sendFrame(frame);
    await refusedHandshake(env, p, sidOf(frame), v, ['ERR_BAD_SIGNATURE'], 'altered early data');
    v.fail(
      p.events.some((e) => e.kind === 'data'),
      'altered early data was echoed',
    );
    return v.result();
  }),
];
