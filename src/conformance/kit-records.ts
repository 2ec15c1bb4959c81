/**
 * Records of any type with a payload the kit chooses (a KEY_UPDATE that skips an epoch, a malformed ACK, an ALERT
 * with an unknown code), sealed under the kit's epoch-0 send keys of a session it initiated. The keys are derived
 * here from the handshake with the public key schedule (src/session/key-schedule.ts) and the records sealed with the
 * public record layer (src/session/record.ts): the session's own sealer stays private. [SPEC 6, 7.1]
 */
import { equal, wipe } from '../bytes/index.js';
import { completeAgreement } from '../crypto/key-agreement.js';
import { decodeHandshakeResponse, FrameType } from '../codec/frame.js';
import { decodeSignedClearToken1 } from '../codec/tokens.js';
import { initialChainSecrets, trafficKeys, transcriptA, transcriptB, type TrafficKeys } from '../session/key-schedule.js';
import { sealRecord } from '../session/record.js';
import type { PendingHandshake } from '../session/handshake.js';
import type { Session } from '../session/session.js';

/**
 * `pending` with copies of its ephemeral private keys, taken **before** `complete()`: complete() wipes a hybrid
 * (X25519MLKEM768) ephemeral itself, its ML-KEM decapsulation key being of no further use to the session (§6.2),
 * and the session prunes a DH one later; `initiatorSendKeys` needs it. Wipe the copies with `wipeKept` afterwards.
 */
export function keepEphemerals(pending: PendingHandshake): PendingHandshake {
  const ephemerals = new Map([...pending.ephemerals].map(([g, kp]) => [g, { privateKey: kp.privateKey.slice(), publicKey: kp.publicKey }]));
  return { ...pending, ephemerals };
}

/** Wipes the private keys that `keepEphemerals` copied. */
export function wipeKept(kept: PendingHandshake): void {
  for (const kp of kept.ephemerals.values()) wipe(kp.privateKey);
}

/**
 * The initiator's epoch-0 send keys (a2b) of the session that `pending` and the verified HS_RESP `resp` established,
 * for every group, hybrid included (DHS recomputed from the ephemeral: pass `keepEphemerals(pending)` taken before
 * `complete()`; the original `pending` works for a DH group right after `complete()` only).
 */
export function initiatorSendKeys(session: Session, pending: PendingHandshake, resp: Uint8Array): TrafficKeys {
  const { provider: p, suite } = session;
  const m2 = decodeHandshakeResponse(resp).token;
  const share = decodeSignedClearToken1(m2).token.keyShares[0];
  const mine = pending.ephemerals.get(suite.group);
  if (!share || !mine) throw new Error('the response has no key share for the selected group');
  const dhs = completeAgreement(p, suite.group, mine, share.publicKey);
  const hA = transcriptA(p, suite, pending.m1);
  const cs = initialChainSecrets(p, suite, dhs, transcriptB(p, suite, m2, hA));
  wipe(dhs);
  wipe(cs.b2a);
  const keys = trafficKeys(p, suite, session.protection, cs.a2b);
  wipe(cs.a2b);
  return keys;
}

/**
 * A record of `type` carrying `payload` on `session` (epoch 0), at the session's next sequence number. The session
 * seals (and so uses up) that sequence number for a DATA record of the same payload, which is not sent: it checks
 * that the kit's keys are the session's (same bytes for the same type) and keeps later records of the session from
 * reusing the number.
 */
export function sealWithKeys(session: Session, keys: TrafficKeys, type: FrameType, payload: Uint8Array): Uint8Array {
  if (session.sendEpoch !== 0) throw new Error('kit-sealed records are for send epoch 0 only');
  const seq = session.nextSeq;
  const burned = session.seal(payload);
  if (!equal(sealRecord(session, keys, FrameType.DATA, session.id, 0, seq, payload), burned))
    throw new Error('the kit-derived keys are not the session keys');
  return sealRecord(session, keys, type, session.id, 0, seq, payload);
}
