/**
 * Frames an intermediary can make up: records with guessed tags, rewritten (and optionally
 * re-signed) ClearToken1s, downgraded offers, unauthenticated HS_ALERTs, spliced frames.
 * What the receiver must do with each is in docs/threats.md.
 */
import { HopsafeError } from '../errors/index.js';
import { concat } from '../bytes/index.js';
import {
  decodeHandshakeResponse,
  encodeHandshakeAlert,
  encodeHandshakeInit,
  encodeHandshakeResponse,
  encodeRecordHeader,
  FrameType,
  frameType,
} from '../codec/frame.js';
import {
  decodeSignedClearToken1,
  encodeClearToken1,
  encodeSignedClearToken1,
  encodeClearToken2,
  type ClearToken1,
  type ClearToken2,
} from '../codec/tokens.js';
import { locateRegion, type RegionOptions } from './regions.js';
import type { Prng } from './prng.js';

/**
 * What {@link forgeRecord} builds a record from: a correct header for any session, epoch and sequence number the
 * forger chooses, with a body and a tag it cannot compute (SPEC 7.1 refuses it as ERR_BAD_MAC).
 */
export interface ForgedRecord {
  /** Record type written into byte 0. Default DATA. */
  readonly type?: 'DATA' | 'KEY_UPDATE' | 'ALERT';
  /** The 8-byte session id to claim (e.g. copied from an observed frame). */
  readonly sessionId: Uint8Array;
  /** Epoch written into the header. Default 0. */
  readonly epoch?: number;
  /** Sequence number written into the header. */
  readonly seq: number;
  /** Body bytes (what would be the ciphertext or the clear payload). */
  readonly payload: Uint8Array;
  /** Appended tag; random (from `prng`) or zero bytes when omitted. */
  readonly tag?: Uint8Array;
  /** Length of the tag made up when `tag` is omitted. Default 16. */
  readonly tagLength?: number;
  /** Source of a random tag; without it (and without `tag`) the tag is zero bytes. */
  readonly prng?: Prng;
}

/** [SPEC 3.3, 7.1] A well-formed record header followed by `payload` and a tag the forger guessed. */
export function forgeRecord(r: ForgedRecord): Uint8Array {
  const tag = r.tag ?? (r.prng ? r.prng.bytes(r.tagLength ?? 16) : new Uint8Array(r.tagLength ?? 16));
  const type = FrameType[r.type ?? 'DATA'];
  const out = encodeRecordHeader(type, r.sessionId, r.epoch ?? 0, r.seq, r.payload.length + tag.length);
  out.set(r.payload, out.length - r.payload.length - tag.length);
  out.set(tag, out.length - tag.length);
  return out;
}

/** [SPEC 7.2] A KEY_UPDATE record carrying a forged ClearToken2 (the forger has no key for the record). */
export function forgeKeyUpdate(sessionId: Uint8Array, epoch: number, seq: number, token: ClearToken2, prng?: Prng): Uint8Array {
  return forgeRecord({ type: 'KEY_UPDATE', sessionId, epoch, seq, payload: encodeClearToken2(token), ...(prng ? { prng } : {}) });
}

/** [SPEC 3.6] An unauthenticated handshake alert, e.g. a fake ERR_UNKNOWN_SESSION. */
export function forgeHandshakeAlert(sessionId: Uint8Array, code: string): Uint8Array {
  return encodeHandshakeAlert(sessionId, code);
}

/** Signs `data` with a key the forger holds (its own identity), for re-signed tokens. */
export type Signer = (data: Uint8Array) => Uint8Array;

/**
 * [SPEC 5.3] Decodes the ClearToken1 inside an HS_INIT or HS_RESP frame, applies `mutate`, and
 * re-encodes it. The original signature is kept unless `sign` is given (it is then called with
 * the exact to-be-signed bytes, without the signature context: see SIGN_CONTEXT in
 * src/session/handshake.ts). A piggybacked record of an HS_RESP is kept.
 */
export function rewriteClearToken1(frame: Uint8Array, mutate: (t: ClearToken1) => ClearToken1, sign?: Signer): Uint8Array {
  const type = frameType(frame);
  if (type !== FrameType.HS_INIT && type !== FrameType.HS_RESP) throw new HopsafeError('ERR_INPUT', 'not a handshake frame');
  const resp = type === FrameType.HS_RESP ? decodeHandshakeResponse(frame) : undefined;
  const st = decodeSignedClearToken1(resp ? resp.token : frame.subarray(1));
  const tbs = encodeClearToken1(mutate(st.token));
  const token = encodeSignedClearToken1(tbs, sign ? sign(tbs) : st.signature);
  return resp ? encodeHandshakeResponse(token, resp.record) : encodeHandshakeInit(token);
}

/** [SPEC 5.5] Rewrites the suite offer of an HS_INIT (or the selection of an HS_RESP). */
export function downgradeOffer(frame: Uint8Array, suites: readonly number[]): Uint8Array {
  return rewriteClearToken1(frame, (t) => ({ ...t, suites: [...suites] }));
}

/**
 * Header of `headerFrom` + body of `bodyFrom` (records: the record header; handshake frames:
 * byte 0 / the length prefix). Undefined when either does not decode.
 */
export function spliceFrames(headerFrom: Uint8Array, bodyFrom: Uint8Array, opts: RegionOptions = {}): Uint8Array | undefined {
  const h = locateRegion(headerFrom, 'header', opts);
  const b = locateRegion(bodyFrom, 'header', opts);
  if (!h || !b) return undefined;
  return concat(headerFrom.subarray(h.start, h.end), bodyFrom.subarray(b.end));
}
