import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HopsafeError } from '../../src/errors/index.js';
import { utf8, toHex } from '../../src/bytes/index.js';
import { decodeRecordHeader } from '../../src/codec/frame.js';
import { codeOf } from '../support/codes.js';
import { handshake, makePair, type Pair } from '../support/session-pair.js';

const now = () => Date.now();

describe('[SPEC 7.1] records', () => {
  let conf: Pair;
  let integ: Pair;
  before(async () => {
    conf = await makePair({ protection: 'confidentiality' });
    integ = await makePair({ protection: 'integrity' });
  });

  test('[SPEC 3.3, 7.1] AEAD overhead is at most 32 bytes (≤ 31 below seq 2^30)', async () => {
    const { sa } = await handshake(conf);
    const payload = new Uint8Array(256);
    for (let i = 0; i < 100; i++) assert.ok(sa.seal(payload).length - payload.length <= 31);
  });

  test('[SPEC 7.1] confidentiality mode hides the payload; integrity mode shows it but it cannot be altered', async () => {
    const secret = utf8('P=4.2MW;Q=0.3MVAr;U=20.1kV;f=50.01Hz');
    const c = await handshake(conf);
    assert.ok(!toHex(c.sa.seal(secret)).includes(toHex(secret)));
    const i = await handshake(integ);
    const f = i.sa.seal(secret);
    assert.ok(toHex(f).includes(toHex(secret)), 'integrity-only payload stays readable for audit');
    const h = decodeRecordHeader(f);
    const altered = f.slice();
    altered[h.length] = (altered[h.length] as number) ^ 1;
    assert.equal(
      codeOf(() => i.sb.open(altered, now())),
      'ERR_BAD_MAC',
    );
  });

  for (const mode of ['integrity', 'confidentiality'] as const) {
    test(`[SPEC 7.1] ${mode}: any single bit flip anywhere in a record is refused`, async () => {
      const { sa, sb } = await handshake(mode === 'integrity' ? integ : conf);
      const frames = Array.from({ length: 4 }, (_, i) => sa.seal(utf8(`telemetry ${i}`)));
      fc.assert(
        fc.property(fc.nat(frames.length - 1), fc.nat(), (fi, bitSeed) => {
          const f = (frames[fi] as Uint8Array).slice();
          const bit = bitSeed % (f.length * 8);
          f[bit >> 3] = (f[bit >> 3] as number) ^ (1 << (bit & 7));
          // Refused with a code, or (epoch field turned into epoch+1) held for a key update that will never
          // come and then refused; never delivered.
          let delivered: unknown[] = [];
          const c = codeOf(() => {
            delivered = sb.open(f, now());
          });
          assert.ok(c !== 'accepted' || delivered.length === 0, `bit ${bit} of frame ${fi} was delivered`);
        }),
        { numRuns: 400 },
      );
      // the untouched frames are still accepted afterwards (forgeries never moved the window)
      for (const f of frames) assert.equal(sb.open(f, now())[0]?.type, 'data');
    });
  }

  test('[SPEC 7.4] a duplicated record is delivered once; reordering within the window is accepted once', async () => {
    const { sa, sb } = await handshake(conf);
    const frames = Array.from({ length: 70 }, (_, i) => sa.seal(utf8(String(i))));
    const order = [...frames.keys()].slice(6).reverse(); // 69..6, i.e. within 64 of the highest
    const got: string[] = [];
    for (const i of order) {
      for (let k = 0; k < 2; k++) {
        try {
          for (const d of sb.open(frames[i] as Uint8Array, now())) if (d.type === 'data') got.push(new TextDecoder().decode(d.payload));
        } catch (e) {
          assert.equal((e as HopsafeError).code, 'ERR_REPLAY');
        }
      }
    }
    assert.equal(got.length, 64);
    assert.equal(new Set(got).size, 64);
    assert.equal(
      codeOf(() => sb.open(frames[0] as Uint8Array, now())),
      'ERR_REPLAY',
    );
  });

  test('[SPEC 7.1] a record reflected back to its sender is refused (direction keys differ)', async () => {
    const { sa } = await handshake(conf);
    assert.equal(
      codeOf(() => sa.open(sa.seal(utf8('x')), now())),
      'ERR_BAD_MAC',
    );
  });

  test('[SPEC 7.1] a record from one session is refused by another', async () => {
    const s1 = await handshake(conf);
    const s2 = await handshake(conf);
    assert.equal(
      codeOf(() => s2.sb.open(s1.sa.seal(utf8('x')), now())),
      'ERR_UNKNOWN_SESSION',
    );
  });

  test('[SPEC 5.5] protected alerts carry a code and a reference', async () => {
    const { sa, sb } = await handshake(conf);
    assert.deepEqual(sb.open(sa.sealAlert('ERR_FORBIDDEN', 7), now()), [{ type: 'alert', code: 'ERR_FORBIDDEN', reference: 7 }]);
  });

  test('destroyed sessions refuse use (keys wiped)', async () => {
    const { sa } = await handshake(conf);
    sa.destroy();
    assert.equal(
      codeOf(() => sa.seal(utf8('x'))),
      'ERR_CLOSED',
    );
  });
});
