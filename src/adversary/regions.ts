/**
 * Where each part of a frame lies, found by decoding it with src/codec, so an adversary rule can
 * aim at one region (record header, token, certificate inside the token, signature, payload, tag).
 * [SPEC 3.3, 3.4, 3.5, 3.6, 5.3, 7.1]
 */
import { decodeHandshakeResponse, decodeRecordHeader, frameType, FrameType } from '../codec/frame.js';
import { decodeSignedClearToken1 } from '../codec/tokens.js';

/**
 * Part of a frame an attack can aim at (see {@link locateRegion}): the whole frame, the record header (SPEC 3.3),
 * the ClearToken1 of a handshake frame, the leaf certificate or the signature inside it, a record's payload, or its
 * tag.
 */
export type RegionName = 'whole' | 'header' | 'token' | 'certificate' | 'signature' | 'payload' | 'tag';

/** Half-open byte range [start, end) inside the frame. */
export interface Region {
  readonly start: number;
  readonly end: number;
}

export interface RegionOptions {
  /**
   * Tag length of records. The wire does not say which mode a session uses; the default 16 is the
   * AEAD tag and the last 16 bytes of any HMAC tag, so 'tag' is right in both modes. Integrity mode
   * with SHA-256 has 32 (SHA-384: 48): pass it to make 'payload' exact.
   */
  readonly tagLength?: number;
}

/** [SPEC 3.1] Names of the frame types, in wire order: `FRAME_TYPE_NAMES[type - 1]` names type `type`. */
export const FRAME_TYPE_NAMES = ['HS_INIT', 'HS_RESP', 'DATA', 'KEY_UPDATE', 'ALERT', 'HS_ALERT', 'ACK', 'BATCH'] as const;
/** [SPEC 3.1] Name of a frame type, as selectors and the adversary log use it. */
export type FrameTypeName = (typeof FRAME_TYPE_NAMES)[number];

/** The frame's type name, or undefined when byte 0 is not a known version/type. */
export function frameTypeName(bytes: Uint8Array): FrameTypeName | undefined {
  try {
    return FRAME_TYPE_NAMES[frameType(bytes) - 1];
  } catch {
    return undefined;
  }
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from = 0): number {
  if (needle.length === 0) return -1;
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Offset of `sub` (a subarray of `whole`'s buffer) inside `whole`. */
function offsetIn(whole: Uint8Array, sub: Uint8Array): number {
  return sub.byteOffset - whole.byteOffset;
}

function tokenRegion(frame: Uint8Array, tokenStart: number, token: Uint8Array, region: RegionName): Region | undefined {
  const st = decodeSignedClearToken1(token);
  const end = tokenStart + token.length;
  switch (region) {
    case 'token':
      return { start: tokenStart, end };
    case 'signature':
      return { start: end - st.signature.length, end };
    case 'certificate': {
      const leaf = st.token.certificates[0];
      if (!leaf) return undefined;
      const i = indexOf(frame, leaf, tokenStart);
      return i < 0 ? undefined : { start: i, end: i + leaf.length };
    }
    case 'payload': {
      const ed = st.token.earlyData;
      if (!ed) return undefined;
      const i = indexOf(frame, ed, tokenStart);
      return i < 0 ? undefined : { start: i, end: i + ed.length };
    }
    default:
      return undefined;
  }
}

function recordRegion(frame: Uint8Array, start: number, region: RegionName, tagLength: number): Region | undefined {
  const rec = frame.subarray(start);
  const h = decodeRecordHeader(rec);
  const tagStart = Math.max(h.length, rec.length - tagLength);
  switch (region) {
    case 'header':
      return { start, end: start + h.length };
    case 'payload':
      return tagStart > h.length ? { start: start + h.length, end: start + tagStart } : undefined;
    case 'tag':
      return { start: start + tagStart, end: frame.length };
    default:
      return undefined;
  }
}

/**
 * Locates `region` in `frame`; undefined when the frame has no such region or does not decode.
 * HS_INIT: header = byte 0; token/certificate/signature/payload (early data) in the ClearToken1.
 * HS_RESP: header = byte 0 + length; token/certificate/signature in the responder's token;
 * payload/tag in the piggybacked record. Records: header, payload, tag. HS_ALERT: header
 * (byte 0 + session id), payload (code).
 */
export function locateRegion(frame: Uint8Array, region: RegionName, opts: RegionOptions = {}): Region | undefined {
  if (region === 'whole') return frame.length > 0 ? { start: 0, end: frame.length } : undefined;
  const tagLength = opts.tagLength ?? 16;
  try {
    switch (frameType(frame)) {
      case FrameType.HS_INIT:
        if (region === 'header') return { start: 0, end: 1 };
        return tokenRegion(frame, 1, frame.subarray(1), region);
      case FrameType.HS_RESP: {
        const r = decodeHandshakeResponse(frame);
        const tokenStart = offsetIn(frame, r.token);
        if (region === 'header') return { start: 0, end: tokenStart };
        if (region === 'payload' || region === 'tag')
          return r.record ? recordRegion(frame, offsetIn(frame, r.record), region, tagLength) : undefined;
        return tokenRegion(frame, tokenStart, r.token, region);
      }
      case FrameType.HS_ALERT:
        if (region === 'header') return frame.length >= 9 ? { start: 0, end: 9 } : undefined;
        if (region === 'payload') return frame.length > 9 ? { start: 9, end: frame.length } : undefined;
        return undefined;
      default:
        return recordRegion(frame, 0, region, tagLength);
    }
  } catch {
    return undefined;
  }
}
