/** Group 11: HS_ALERT is a hint — a forged one must not end a live session nor a pending handshake. [SPEC 3.6, 8.8] */
import { fromHex, samePublicBytes } from '../../bytes/index.js';
import { forgeHandshakeAlert } from '../../adversary/forge.js';
import { defineCase, Verdict, type ConformanceCase } from '../case.js';
import { askToOpen } from './handshake.js';
import { stillAnswers, sidOf } from './helpers.js';

export const hsAlertCases: ConformanceCase[] = [
  defineCase(
    '11.1.1',
    'a forged ERR_UNKNOWN_SESSION for a live session: the IUT probes, the session survives',
    'SPEC 3.6, 8.8',
    async (env) => {
      const v = new Verdict();
      const p = await env.connected();
      const sid = p.session!.id;
      await p.sendFrame(forgeHandshakeAlert(sid, 'ERR_UNKNOWN_SESSION'));
      const probe = await p.waitFor((e) => e.kind === 'key-update' && e.requestUpdate);
      v.nonStrict(!probe, 'no probe (KEY_UPDATE requestUpdate = true) after the hint');
      await env.sleep(1500); // past probeTimeoutMs
      v.fail(
        p.events.some((e) => e.kind === 'hs-init'),
        'the IUT dropped the session (it opened a new handshake although the probe was answered)',
      );
      v.fail(!samePublicBytes(p.session!.id, sid), 'session replaced');
      await stillAnswers(env, p, v);
      return v.result();
    },
  ),
  defineCase('11.1.2', 'a forged HS_ALERT of another code for a live session is ignored', 'SPEC 3.6', async (env) => {
    const v = new Verdict();
    const p = await env.connected();
    await p.sendFrame(forgeHandshakeAlert(p.session!.id, 'ERR_BAD_MAC'));
    await p.sendFrame(forgeHandshakeAlert(p.session!.id, 'ERR_CLOSED'));
    await env.sleep(300);
    v.fail(
      p.events.some((e) => e.kind === 'hs-init'),
      'the IUT opened a new handshake after a forged hint',
    );
    await stillAnswers(env, p, v);
    return v.result();
  }),
  defineCase('11.1.3', 'a forged HS_ALERT naming no session is ignored', 'SPEC 3.6', async (env) => {
    const v = new Verdict();
    const p = await env.connected();
    await p.sendFrame(forgeHandshakeAlert(env.kit.provider.randomBytes(8), 'ERR_UNKNOWN_SESSION'));
    await stillAnswers(env, p, v);
    return v.result();
  }),
  defineCase(
    '11.1.4',
    'an unanswered probe: the IUT treats the session as lost and opens a new handshake',
    'SPEC 3.6, 8.8',
    async (env) => {
      const v = new Verdict();
      const p = await env.connected();
      p.answerKeyUpdates = false;
      const old = p.session!.id;
      await p.sendFrame(forgeHandshakeAlert(old, 'ERR_UNKNOWN_SESSION'));
      const init = await p.waitFor((e) => e.kind === 'hs-init', 1000 + env.timeoutMs + 1000);
      v.nonStrict(!init, 'no new handshake after an unanswered probe');
      p.answerKeyUpdates = true;
      if (init) {
        await p.waitFor((e) => e.kind === 'established' && e.role === 'responder');
        v.fail(!(await p.roundTrip()), 'no echo on the new session');
      } else v.fail(!(await p.roundTrip()), 'no echo');
      return v.result();
    },
  ),
  defineCase('11.2.1', 'IUT as initiator: a forged HS_ALERT on its pending handshake does not cut it short', 'SPEC 3.6', async (env) => {
    const v = new Verdict();
    const target = env.party();
    target.onInit = async (frame) => {
      await target.sendFrame(forgeHandshakeAlert(fromHex(sidOf(frame)), 'ERR_CERT_REVOKED'));
      await new Promise((r) => setTimeout(r, 200));
      await target.respondTo(frame);
    };
    const data = env.payload('first');
    await askToOpen(env, target, data);
    v.fail(!(await target.waitEcho(data)), 'the genuine HS_RESP after a forged hint did not complete the handshake');
    if (!v.failed) v.fail(!(await target.roundTrip()), 'no echo afterwards');
    return v.result();
  }),
];
