/**
 * Found by fuzzing: the strict DER decoders throw asn1js's own Error/RangeError, not HopsafeError,
 * for a few universal tags hopsafe never uses. [SPEC 5.1, 9: every failure is a HopsafeError]
 * Fixed in src/codec/der.ts: the strict framing check refuses any tag outside the token tag set
 * before asn1js parses the bytes, and asn1js errors become ERR_MALFORMED.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAlert, decodeClearToken2, decodeSignedClearToken1 } from '../../src/codec/tokens.js';
import { isHopsafeError } from '../../src/errors/index.js';

const CT2 = [0x31, 2, 1, 1, 2, 1, 1, 2, 1, 1, 4, 32, ...new Array<number>(32).fill(5), 2, 1, 0, 1, 1, 0];
/** GeneralizedTime, UniversalString, BMPString, UTCTime (invalid content) as the outer tag or nested. */
const CASES = [
  Uint8Array.from([0x18, ...CT2]),
  Uint8Array.from([0x1c, ...CT2]),
  Uint8Array.from([0x1e, ...CT2]),
  Uint8Array.from([0x30, 0x03, 0x18, 0x01, 0x41]),
  Uint8Array.from([0x30, 0x03, 0x1e, 0x01, 0x41]),
];

test('[SPEC 5.1, 9] DER decoders refuse unused universal tags with ERR_MALFORMED (asn1js errors must not leak)', () => {
  for (const bytes of CASES)
    for (const decode of [decodeSignedClearToken1, decodeClearToken2, decodeAlert]) {
      try {
        decode(bytes);
        assert.fail('accepted');
      } catch (e) {
        assert.ok(
          isHopsafeError(e) && e.code === 'ERR_MALFORMED',
          `${decode.name}(${Buffer.from(bytes).toString('hex')}) threw ${String(e)}`,
        );
      }
    }
});
