/**
 * fast-check generators for structurally valid but wrong protocol input: ClearToken1/ClearToken2/
 * Alert re-encoded with mutated fields (re-signed with the genuine key or not), records with valid
 * headers and wrong epochs/sequence numbers/lengths, mutations of genuine frames, and random bytes.
 */
import fc from 'fast-check';
import { concat } from '../../src/bytes/index.js';
import {
  encodeAlert,
  encodeClearToken1,
  encodeClearToken2,
  encodeSignedClearToken1,
  type ClearToken1,
  type ClearToken2,
} from '../../src/codec/tokens.js';
import { encodeHandshakeInit, encodeHandshakeResponse, encodeRecordHeader, FrameType } from '../../src/codec/frame.js';
import * as der from '../../src/codec/tlv.js';

const bytes = (min: number, max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: min, maxLength: max });
const smallInt = fc.oneof(
  fc.integer({ min: 0, max: 8 }),
  fc.integer({ min: -2, max: 70_000 }),
  fc.constantFrom(0xffff, 2 ** 31, 2 ** 53 - 1, -1),
);
const ids = fc.oneof(
  fc.constantFrom('alice', 'bob', 'carol', '', 'a/b', '-x', 'x'.repeat(64), 'x'.repeat(65)),
  fc.string({ maxLength: 70 }),
);

/** Mutated copies of a ClearToken1: each field is kept or replaced by a wrong-but-encodable value. */
export function clearToken1Mutations(base: ClearToken1, now: number, certs: readonly Uint8Array[]): fc.Arbitrary<ClearToken1> {
  const keep = <T>(v: T, alt: fc.Arbitrary<T>): fc.Arbitrary<T> =>
    fc.oneof({ weight: 3, arbitrary: fc.constant(v) }, { weight: 1, arbitrary: alt });
  const cert = fc.oneof(
    fc.constantFrom(...certs),
    bytes(1, 200),
    fc.constantFrom(...certs).chain((c) => fc.integer({ min: 0, max: c.length * 8 - 1 }).map((bit) => flipBit(c, bit))),
  );
  return fc
    .record({
      version: keep(base.version, fc.integer({ min: 0, max: 300 })),
      role: keep(base.role, fc.constantFrom('initiator' as const, 'responder' as const)),
      sessionId: keep(base.sessionId, bytes(0, 12)),
      senderId: keep(base.senderId, ids),
      receiverId: keep(base.receiverId, ids),
      timestamp: keep(
        base.timestamp,
        fc.oneof(fc.integer({ min: now - 120_000, max: now + 120_000 }), fc.constantFrom(0, -1, Number.MAX_SAFE_INTEGER)),
      ),
      random: keep(base.random, bytes(0, 20)),
      protection: keep(base.protection, fc.constantFrom('integrity' as const, 'confidentiality' as const)),
      suites: keep(
        base.suites,
        fc.array(fc.oneof(fc.constantFrom(0x0101, 0x0102, 0x0103, 0x0201, 0x0202, 0x0303, 0x0401), smallInt), { maxLength: 20 }),
      ),
      keyShares: keep(
        base.keyShares,
        fc.array(
          fc.record({
            group: fc.oneof(fc.constantFrom(1, 2, 3, 4), smallInt),
            publicKey: fc.oneof(bytes(0, 140), fc.constant(new Uint8Array(32)), fc.constant(Uint8Array.of(4, ...new Uint8Array(64)))),
          }),
          { maxLength: 6 },
        ),
      ),
      signatureAlgorithm: keep(base.signatureAlgorithm, smallInt),
      certificates: keep(base.certificates, fc.array(cert, { maxLength: 10 })),
      attributeCertificates: fc.oneof(
        { weight: 4, arbitrary: fc.constant(base.attributeCertificates) },
        { weight: 1, arbitrary: fc.option(fc.array(bytes(1, 64), { maxLength: 5 }), { nil: undefined }) },
      ),
      earlyData: fc.oneof(
        { weight: 4, arbitrary: fc.constant(base.earlyData) },
        { weight: 1, arbitrary: fc.option(bytes(0, 64), { nil: undefined }) },
      ),
    })
    .map((t) => {
      const out: ClearToken1 = { ...t };
      if (out.attributeCertificates === undefined) delete (out as { attributeCertificates?: unknown }).attributeCertificates;
      if (out.earlyData === undefined) delete (out as { earlyData?: unknown }).earlyData;
      return out;
    });
}

export function flipBit(b: Uint8Array, bit: number): Uint8Array {
  const out = b.slice();
  const i = bit >>> 3;
  if (i < out.length) out[i] = (out[i] as number) ^ (0x80 >>> (bit & 7));
  return out;
}

/** Encodes, signs (or keeps `signature`) and frames a token; undefined when the codec refuses to encode the value. */
export function signedToken(t: ClearToken1, signature: Uint8Array, sign?: (tbs: Uint8Array) => Uint8Array): Uint8Array | undefined {
  try {
    const tbs = encodeClearToken1(t);
    return encodeSignedClearToken1(tbs, sign ? sign(tbs) : signature);
  } catch {
    return undefined;
  }
}

export function clearToken2Mutations(base: ClearToken2): fc.Arbitrary<Uint8Array> {
  return fc
    .record({
      version: fc.oneof(fc.constant(base.version), fc.integer({ min: 0, max: 300 })),
      newEpoch: fc.oneof(fc.constant(base.newEpoch), smallInt),
      group: fc.oneof(fc.constant(base.group), smallInt),
      publicKey: fc.oneof(fc.constant(base.publicKey), bytes(0, 140)),
      peerKeyEpoch: fc.oneof(fc.constant(base.peerKeyEpoch), smallInt),
      requestUpdate: fc.boolean(),
    })
    .map((t) => {
      try {
        return encodeClearToken2(t);
      } catch {
        return new Uint8Array(0);
      }
    });
}

export function alertMutations(): fc.Arbitrary<Uint8Array> {
  return fc
    .record({
      code: fc.oneof(fc.constantFrom('ERR_CLOSED', 'ERR_FORBIDDEN', 'err_x', 'ERR_' + 'A'.repeat(40), ''), fc.string({ maxLength: 40 })),
      reference: fc.option(fc.oneof(smallInt, fc.constant(Number.MAX_SAFE_INTEGER)), { nil: undefined }),
    })
    .map((a) => {
      try {
        return encodeAlert(a.reference === undefined ? { code: a.code } : { code: a.code, reference: a.reference });
      } catch {
        return new Uint8Array(0);
      }
    });
}

/** [SPEC 7.6] Ack payloads: valid DER with wrong counts, epochs, sequence numbers and maps. */
export function ackMutations(): fc.Arbitrary<Uint8Array> {
  const range = fc.record({
    epoch: fc.oneof(smallInt, fc.integer({ min: 0, max: 0x1ffff })),
    highest: fc.oneof(fc.integer({ min: 0, max: 80 }), fc.integer({ min: 0, max: 2 ** 49 })),
    accepted: fc.oneof(bytes(8, 8), bytes(0, 12)),
  });
  return fc.array(range, { minLength: 0, maxLength: 3 }).map((rs) => {
    try {
      return der.seq(rs.map((r) => der.seq([der.int(r.epoch), der.int(r.highest), der.oct(r.accepted)])));
    } catch {
      return new Uint8Array(0);
    }
  });
}

/** Record frames with well-formed headers and wrong epochs, sequence numbers, lengths and bodies. */
export function recordFrames(sessionIds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc
    .record({
      type: fc.constantFrom(FrameType.DATA, FrameType.KEY_UPDATE, FrameType.ALERT, FrameType.ACK),
      sessionId: fc.oneof(fc.constantFrom(...sessionIds), bytes(8, 8)),
      epoch: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 0xffff })),
      seq: fc.oneof(fc.integer({ min: 0, max: 70 }), fc.integer({ min: 0, max: 2 ** 48 - 1 }), fc.constantFrom(2 ** 48, 2 ** 62 - 1)),
      body: fc.oneof(bytes(0, 16), bytes(16, 80), bytes(100, 300)),
      nonMinimal: fc.boolean(),
    })
    .map((r) => {
      if (r.seq >= 2 ** 48 || r.nonMinimal) {
        // hand-made varint: 8-byte form for any value (non-minimal below 2^30)
        const h = new Uint8Array(11 + 8);
        h[0] = 0x10 | r.type;
        h.set(r.sessionId, 1);
        h[9] = r.epoch >>> 8;
        h[10] = r.epoch & 0xff;
        const v = BigInt(Math.min(r.seq, 2 ** 62 - 1)) | (3n << 62n);
        new DataView(h.buffer).setBigUint64(11, v);
        return concat(h, r.body);
      }
      const h = encodeRecordHeader(r.type, r.sessionId, r.epoch, r.seq, r.body.length);
      h.set(r.body, h.length - r.body.length);
      return h;
    });
}

/** Bit flips, truncations, extensions and byte overwrites of genuine frames. */
export function mutationsOf(frames: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const f = fc.constantFrom(...frames);
  return fc.oneof(
    f.chain((b) => fc.integer({ min: 0, max: b.length * 8 - 1 }).map((bit) => flipBit(b, bit))),
    // every mutation changes the frame (an unchanged genuine frame is not a forgery)
    f.chain((b) => fc.integer({ min: 0, max: b.length - 1 }).map((n) => b.slice(0, n))),
    f.chain((b) => bytes(1, 8).map((x) => concat(b, x))),
    f.chain((b) =>
      fc.tuple(fc.integer({ min: 0, max: b.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
        const o = b.slice();
        o[i] = (o[i] as number) ^ x;
        return o;
      }),
    ),
  );
}

export const randomBytes = (max = 300): fc.Arbitrary<Uint8Array> => bytes(0, max);
/** Random bytes behind a valid version|type byte. */
export const typedGarbage = (max = 300): fc.Arbitrary<Uint8Array> =>
  fc.tuple(fc.integer({ min: 1, max: 8 }), bytes(0, max)).map(([t, b]) => concat(Uint8Array.of(0x10 | t), b));

export const asInit = (token: Uint8Array): Uint8Array => encodeHandshakeInit(token);
export const asResp = (token: Uint8Array, record?: Uint8Array): Uint8Array => encodeHandshakeResponse(token, record);
