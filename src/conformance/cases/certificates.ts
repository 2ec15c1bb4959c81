/** Group 5: certificates the kit builds and presents, as initiator and as responder. [SPEC 10] */
import { defineCase, Verdict, type ConformanceCase } from '../case.js';
import type { BrokenKind } from '../kit-pki.js';
import { askToOpen } from './handshake.js';
import { flip, refusedHandshake, sidOf } from './helpers.js';

const AS_INITIATOR: [BrokenKind, string, string[]][] = [
  ['expired', 'an expired certificate', ['ERR_CERT_EXPIRED']],
  ['notYetValid', 'a certificate not yet valid', ['ERR_CERT_NOT_YET_VALID']],
  ['wrongName', 'a certificate naming another endpoint', ['ERR_CERT_NAME']],
  ['foreignRoot', 'a certificate from an untrusted root (same name as the trusted one)', ['ERR_CERT_UNTRUSTED']],
  ['revoked', 'a certificate revoked by the CRL', ['ERR_CERT_REVOKED']],
  ['wrongKeyUsage', 'a leaf without digitalSignature in keyUsage', ['ERR_CERT_USAGE']],
  ['wrongExtKeyUsage', 'a leaf whose extendedKeyUsage allows no endpoint use', ['ERR_CERT_USAGE']],
  ['caAsLeaf', 'a CA certificate used as an endpoint leaf', ['ERR_CERT_USAGE']],
  ['issuedByLeaf', 'a leaf issued by another (non-CA) endpoint certificate', ['ERR_CERT_USAGE', 'ERR_CERT_UNTRUSTED']],
];

const AS_RESPONDER: [BrokenKind, string][] = [
  ['expired', 'an expired certificate'],
  ['wrongName', 'a certificate naming another endpoint'],
  ['revoked', 'a certificate revoked by the CRL'],
  ['foreignRoot', 'a certificate from an untrusted root'],
];

export const certificateCases: ConformanceCase[] = [
  ...AS_INITIATOR.map(([kind, what, hints], i) =>
    defineCase(`5.1.${i + 1}`, `an HS_INIT with ${what} is refused`, 'SPEC 10.2, 10.3, 10.5', async (env) => {
      const v = new Verdict();
      const p = env.brokenParty(kind);
      const { frame } = p.initiate();
      await p.sendFrame(frame);
      await refusedHandshake(env, p, sidOf(frame), v, hints, `an HS_INIT with ${what}`);
      return v.result();
    }),
  ),
  defineCase(
    `5.1.${AS_INITIATOR.length + 1}`,
    'an HS_INIT whose signature the intermediary altered is refused',
    'SPEC 5.4',
    async (env) => {
      const v = new Verdict();
      const p = env.party();
      const frame = flip(p.initiate().frame, 'signature', 9);
      await p.sendFrame(frame);
      await refusedHandshake(env, p, sidOf(frame), v, ['ERR_BAD_SIGNATURE', 'ERR_MALFORMED'], 'an HS_INIT with a bad signature');
      return v.result();
    },
  ),
  ...AS_RESPONDER.map(([kind, what], i) =>
    defineCase(`5.2.${i + 1}`, `IUT as initiator refuses an HS_RESP with ${what}`, 'SPEC 5.4, 10.2', async (env) => {
      const v = new Verdict();
      const bad = env.brokenParty(kind);
      let init: Uint8Array | undefined;
      bad.onInit = async (frame) => {
        init ??= frame;
        if (init === frame) await bad.respondTo(frame);
      };
      const data = env.payload('first');
      await askToOpen(env, bad, data);
      const got = await bad.waitFor((e) => e.kind === 'hs-init');
      if (!got || !init) return v.fail(true, 'no HS_INIT from the IUT').result();
      await bad.waitFor((e) => e.kind === 'data', env.settleMs * 3);
      v.fail(bad.count('data') > 0, `the IUT accepted ${what} and sent its message`);
      // The pending handshake must survive the refused response: a genuine one for the same HS_INIT completes it.
      bad.close();
      const good = env.party();
      await good.respondTo(init);
      v.fail(!(await good.waitEcho(data)), 'a genuine HS_RESP after the refused one did not complete the handshake');
      if (!v.failed) v.pass(`${what} refused; genuine response accepted`);
      return v.result();
    }),
  ),
];
