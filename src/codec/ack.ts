/**
 * [SPEC 7.6] Ack: the payload of a protected ACK record, by which a receiver tells the sender which of
 * its records it accepted. One range per receive epoch still open (the current one and, during the
 * grace period, the previous one).
 *
 *   Ack ::= SEQUENCE SIZE (1..2) OF AckRange
 *   AckRange ::= SEQUENCE { epoch INTEGER (0..65535), highest INTEGER (0..2^48-1), accepted OCTET STRING (SIZE (8)) }
 *
 * `accepted` is a big-endian 64-bit map: bit i (value 2^i) set ⇔ record `highest − i` was accepted.
 * Bit 0 is always set; bits for negative sequence numbers are clear; two ranges are in ascending epoch order.
 */
import { HopsafeError } from '../errors/index.js';
import { equal } from '../bytes/index.js';
import * as der from './tlv.js';
import { MAX_EPOCH, MAX_SEQ } from './frame.js';

/** [SPEC 7.6] Number of records one range covers (the replay window, SPEC 7.4). */
export const ACK_RANGE_SPAN = 64;
export const ACK_MAP_LENGTH = ACK_RANGE_SPAN / 8;

export interface AckRange {
  readonly epoch: number;
  readonly highest: number;
  /** 8 bytes, big-endian; bit i ⇔ record `highest − i` accepted. */
  readonly accepted: Uint8Array;
}

/** True when `range` acknowledges record `seq` of its epoch. */
export function acknowledges(range: AckRange, seq: number): boolean {
  const i = range.highest - seq;
  if (i < 0 || i >= ACK_RANGE_SPAN) return false;
  const byte = range.accepted[ACK_MAP_LENGTH - 1 - (i >>> 3)] as number;
  return (byte & (1 << (i & 7))) !== 0;
}

/** Builds the `accepted` map from a predicate over the 64 sequence numbers ending at `highest`. */
export function acceptedMap(highest: number, accepted: (seq: number) => boolean): Uint8Array {
  const out = new Uint8Array(ACK_MAP_LENGTH);
  for (let i = 0; i < ACK_RANGE_SPAN && i <= highest; i++)
    if (accepted(highest - i)) out[ACK_MAP_LENGTH - 1 - (i >>> 3)] = (out[ACK_MAP_LENGTH - 1 - (i >>> 3)] as number) | (1 << (i & 7));
  return out;
}

export function encodeAck(ranges: readonly AckRange[]): Uint8Array {
  if (ranges.length < 1 || ranges.length > 2) throw new HopsafeError('ERR_INPUT', 'an Ack holds one or two ranges');
  return der.seq(ranges.map((r) => der.seq([der.int(r.epoch), der.int(r.highest), der.oct(r.accepted)])));
}

export function decodeAck(bytes: Uint8Array): AckRange[] {
  const ranges = der.children(der.decode(bytes, 128, 'Ack'), 'Ack', 1, 2).map((t): AckRange => {
    const f = der.children(t, 'AckRange', 3, 3);
    const r: AckRange = {
      epoch: der.integer(f[0], 'epoch', 0, MAX_EPOCH),
      highest: der.integer(f[1], 'highest', 0, MAX_SEQ),
      accepted: der.octets(f[2], 'accepted', ACK_MAP_LENGTH, ACK_MAP_LENGTH),
    };
    // [SPEC 7.6] The highest record is accepted by definition; nothing below sequence 0.
    if (!acknowledges(r, r.highest)) throw new HopsafeError('ERR_MALFORMED', 'Ack: highest not marked accepted');
    for (let i = r.highest + 1; i < ACK_RANGE_SPAN; i++)
      if (((r.accepted[ACK_MAP_LENGTH - 1 - (i >>> 3)] as number) & (1 << (i & 7))) !== 0)
        throw new HopsafeError('ERR_MALFORMED', 'Ack: bit below sequence 0');
    return r;
  });
  // [SPEC 7.6] Two ranges are in ascending epoch order (the previous epoch, in grace, first): equal or descending
  // epochs are refused.
  const [r0, r1] = ranges;
  if (r0 && r1 && r0.epoch >= r1.epoch)
    throw new HopsafeError(
      'ERR_MALFORMED',
      r0.epoch === r1.epoch ? 'Ack: two ranges for one epoch' : 'Ack: ranges not in ascending epoch order',
    );
  if (!equal(encodeAck(ranges), bytes)) throw new HopsafeError('ERR_MALFORMED', 'Ack is not canonical DER');
  return ranges;
}
