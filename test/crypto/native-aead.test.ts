/**
 * [SPEC 4.4] The optional native accelerator (`@hopsafe/native-aead`, packages/native-aead): the node provider gives
 * the same bytes with it as on node:crypto alone and as noble, for every AEAD and HMAC, aliasing the way records seal
 * in place; the raw binding refuses every malformed call without touching memory outside its output; it is used by
 * default when installed, can be turned off, and `native: true` fails typed where it cannot be used.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { toHex, utf8, wipe } from '../../src/bytes/index.js';
import { handshake, makePair } from '../support/session-pair.js';
import { createNodeProvider } from '../../src/crypto/node.js';
import { nativeAeadStatus } from '../../src/crypto/native-aead.js';
import { AEAD_KEY_LENGTH, HASH_LENGTH, type AeadAlg, type HashAlg } from '../../src/crypto/provider.js';
import { node, nodeCrypto, noble, throwsCode } from '../support/crypto-fixtures.js';

const disabled = process.env.HOPSAFE_NO_NATIVE === '1';
const bytes = (maxLength: number, minLength = 0) => fc.uint8Array({ minLength, maxLength });
const aeadAlg = fc.constantFrom<AeadAlg>('aes-128-gcm', 'aes-256-gcm', 'chacha20-poly1305');
const hashAlg = fc.constantFrom<HashAlg>('sha256', 'sha384');
const hx = (b: Uint8Array | null): string => (b ? toHex(b) : 'null');

interface Binding {
  forget(first: number, last: number): number;
  seal(...a: unknown[]): number;
  open(...a: unknown[]): number;
  hmac(...a: unknown[]): number;
  stats(): [number, number];
  wipe(): void;
}
const binding = (): Binding => createRequire(import.meta.url)('@hopsafe/native-aead') as Binding;

test('[SPEC 4.4] the accelerator is built by npm install and passes its self-test (else it says why)', () => {
  const s = nativeAeadStatus();
  if (disabled) {
    assert.equal(s.loaded, false);
    assert.match(s.reason ?? '', /HOPSAFE_NO_NATIVE/);
    return;
  }
  assert.equal(s.loaded, true, `not loaded: ${s.reason}`);
  assert.match(s.openssl ?? '', /^OpenSSL 3\./);
  assert.doesNotThrow(() => createNodeProvider({ native: true }));
});

test('[SPEC 4.4] AEAD: accelerated, node:crypto-only and noble seal the same bytes and open each other', () => {
  fc.assert(
    fc.property(
      aeadAlg.chain((alg) =>
        fc.record({
          alg: fc.constant(alg),
          key: bytes(AEAD_KEY_LENGTH[alg], AEAD_KEY_LENGTH[alg]),
          nonce: bytes(12, 12),
          plaintext: bytes(3000),
          aad: bytes(64),
          flip: fc.nat(),
        }),
      ),
      ({ alg, key, nonce, plaintext, aad, flip }) => {
        const sealed = node.aeadSeal(alg, key, nonce, plaintext, aad);
        assert.equal(toHex(sealed), toHex(nodeCrypto.aeadSeal(alg, key, nonce, plaintext, aad)));
        assert.equal(toHex(sealed), toHex(noble.aeadSeal(alg, key, nonce, plaintext, aad)));
        for (const p of [node, nodeCrypto, noble]) assert.equal(hx(p.aeadOpen(alg, key, nonce, sealed, aad)), toHex(plaintext));
        const bad = Uint8Array.from(sealed);
        const i = flip % bad.length;
        bad[i] = (bad[i] ?? 0) ^ (1 << (flip % 8));
        assert.equal(node.aeadOpen(alg, key, nonce, bad, aad), null);
        const wrongAad = Uint8Array.from([...aad, 0]);
        assert.equal(node.aeadOpen(alg, key, nonce, sealed, wrongAad), null);
      },
    ),
    { numRuns: 150 },
  );
});

test('[SPEC 4.4, 7.1] sealing in place: AAD a view of the frame before the offset, plaintext overlapping the destination', () => {
  fc.assert(
    fc.property(aeadAlg, bytes(600), fc.integer({ min: 0, max: 40 }), fc.integer({ min: -30, max: 30 }), (alg, pt, hl, shift) => {
      const key = new Uint8Array(AEAD_KEY_LENGTH[alg]).fill(7);
      const nonce = new Uint8Array(12).fill(9);
      const frame = new Uint8Array(hl + pt.length + 16 + 64);
      frame.fill(0xa5, 0, hl);
      const header = Uint8Array.from(frame.subarray(0, hl));
      const want = nodeCrypto.aeadSeal(alg, key, nonce, pt, header);
      // The plaintext placed where it overlaps the ciphertext's place (or not), inside the same buffer.
      const at = Math.max(hl, Math.min(frame.length - pt.length, hl + shift));
      frame.set(pt, at);
      const sealInto = node.aeadSealInto;
      assert.ok(sealInto);
      sealInto(alg, key, nonce, frame.subarray(at, at + pt.length), frame.subarray(0, hl), frame, hl);
      assert.equal(toHex(frame.subarray(hl, hl + pt.length + 16)), toHex(want));
      assert.equal(toHex(frame.subarray(0, hl)), toHex(header), 'the header is not touched');
    }),
    { numRuns: 150 },
  );
});

test('[SPEC 4.4] HMAC: accelerated, node:crypto-only and noble agree, for record keys and any other length', () => {
  fc.assert(
    fc.property(hashAlg, bytes(100), bytes(5000), (alg, key, data) => {
      const want = toHex(nodeCrypto.hmac(alg, key, data));
      assert.equal(toHex(node.hmac(alg, key, data)), want);
      assert.equal(toHex(noble.hmac(alg, key, data)), want);
      assert.equal(node.hmac(alg, key, data).length, HASH_LENGTH[alg]);
    }),
    { numRuns: 150 },
  );
});

test('[SPEC 4.4] a key rewritten in place, and far more keys than the binding keeps, never get a stale key schedule', () => {
  const nonce = new Uint8Array(12);
  const pt = new Uint8Array(100).fill(1);
  const key = new Uint8Array(16).fill(3);
  const first = toHex(node.aeadSeal('aes-128-gcm', key, nonce, pt, pt));
  key[0] = 4; // same object, new bytes
  assert.equal(toHex(node.aeadSeal('aes-128-gcm', key, nonce, pt, pt)), toHex(nodeCrypto.aeadSeal('aes-128-gcm', key, nonce, pt, pt)));
  assert.notEqual(toHex(node.aeadSeal('aes-128-gcm', key, nonce, pt, pt)), first);
  // 2,000 keys in one buffer and 2,000 in their own (more than the 512 contexts kept), each used twice, interleaved.
  const block = new Uint8Array(2000 * 32);
  for (let i = 0; i < block.length; i++) block[i] = (i * 31 + 7) & 0xff;
  const keys = [
    ...Array.from({ length: 2000 }, (_, i) => block.subarray(i * 32, i * 32 + 16)),
    ...Array.from({ length: 2000 }, (_, i) => new Uint8Array(16).fill(i & 0xff).fill(i >> 8, 0, 1)),
  ];
  for (let round = 0; round < 2; round++)
    for (const [i, k] of keys.entries()) {
      if (i % 7 !== round) continue;
      const mac = node.hmac('sha256', k, pt);
      assert.equal(toHex(mac), toHex(nodeCrypto.hmac('sha256', k, pt)));
      assert.equal(toHex(node.aeadSeal('aes-128-gcm', k, nonce, pt, mac)), toHex(nodeCrypto.aeadSeal('aes-128-gcm', k, nonce, pt, mac)));
    }
  if (!disabled) assert.ok(binding().stats()[0] <= 512, 'at most 512 key contexts per thread');
});

test('[SPEC 4.4] the node provider checks arguments the same way with and without the accelerator', () => {
  for (const p of [node, nodeCrypto]) {
    throwsCode(() => p.aeadSeal('aes-128-gcm', new Uint8Array(15), new Uint8Array(12), new Uint8Array(1), new Uint8Array(0)), 'ERR_INPUT');
    throwsCode(() => p.aeadSeal('aes-128-gcm', new Uint8Array(16), new Uint8Array(11), new Uint8Array(1), new Uint8Array(0)), 'ERR_INPUT');
    throwsCode(() => p.aeadOpen('aes-256-gcm', new Uint8Array(16), new Uint8Array(12), new Uint8Array(20), new Uint8Array(0)), 'ERR_INPUT');
    const into = p.aeadSealInto;
    assert.ok(into);
    throwsCode(
      () => into('aes-128-gcm', new Uint8Array(16), new Uint8Array(12), new Uint8Array(10), new Uint8Array(0), new Uint8Array(30), 5),
      'ERR_INPUT',
    );
    assert.equal(p.aeadOpen('aes-128-gcm', new Uint8Array(16), new Uint8Array(12), new Uint8Array(15), new Uint8Array(0)), null);
  }
});

test('[SPEC 4.4] the raw binding refuses malformed calls with a code and writes nothing outside its output', { skip: disabled }, () => {
  const b = binding();
  const key = new Uint8Array(16).fill(1);
  const nonce = new Uint8Array(12).fill(2);
  const pt = new Uint8Array(64).fill(3);
  const guard = (len: number): { buf: Uint8Array; out: Uint8Array; check(): void } => {
    const buf = new Uint8Array(len + 64).fill(0xee);
    const out = buf.subarray(32, 32 + len);
    return {
      buf,
      out,
      check: () => {
        assert.ok(buf.subarray(0, 32).every((x) => x === 0xee) && buf.subarray(32 + len).every((x) => x === 0xee), 'guard bytes');
      },
    };
  };
  const g = guard(80);
  const refused: [string, number][] = [
    ['offset past the end', b.seal(0, 0, key, nonce, pt, pt, g.out, 81)],
    ['output too short for the tag', b.seal(0, 0, key, nonce, pt, pt, g.out, 1)],
    ['short nonce', b.seal(0, 0, key, nonce.subarray(1), pt, pt, g.out, 0)],
    ['wrong key length', b.seal(0, 0, key.subarray(1), nonce, pt, pt, g.out, 0)],
    ['unknown algorithm', b.seal(0, 9, key, nonce, pt, pt, g.out, 0)],
    ['an HMAC code to seal', b.seal(0, 3, key, nonce, pt, pt, g.out, 0)],
    ['not a Uint8Array', b.seal(0, 0, key, nonce, new Int16Array(4), pt, g.out, 0)],
    ['a DataView', b.seal(0, 0, key, nonce, pt, new DataView(pt.buffer), g.out, 0)],
    ['slot not a number', b.seal('x', 0, key, nonce, pt, pt, g.out, 0)],
    ['too few arguments', b.seal(0, 0, key, nonce, pt, pt, g.out)],
    ['sealed shorter than a tag', b.open(0, 0, key, nonce, pt.subarray(0, 15), pt, g.out)],
    ['open output too short', b.open(0, 0, key, nonce, pt, pt, g.out.subarray(0, 47))],
    ['open into its own input', b.open(0, 0, key, nonce, g.buf.subarray(40, 104), pt, g.buf.subarray(50, 120))],
    ['hmac output too short', b.hmac(0, 3, key, pt, g.out.subarray(0, 31))],
    ['hmac with an AEAD code', b.hmac(0, 0, key, pt, g.out)],
    ['hmac with an empty key', b.hmac(0, 3, new Uint8Array(0), pt, g.out)],
  ];
  for (const [what, rc] of refused) assert.ok(rc > 0, `${what}: refused (got ${rc})`);
  g.check();
  assert.ok(
    g.out.every((x) => x === 0xee),
    'nothing written by a refused call',
  );
  // A forged tag: -1 and the output wiped (no unauthenticated plaintext left behind).
  const sealed = new Uint8Array(80);
  assert.equal(b.seal(0, 0, key, nonce, pt, pt, sealed, 0), 0);
  const o = guard(64);
  assert.equal(b.open(0, 0, key, nonce, sealed, pt, o.out), 0);
  assert.equal(toHex(o.out), toHex(pt));
  sealed[79] = (sealed[79] ?? 0) ^ 1;
  assert.equal(b.open(0, 0, key, nonce, sealed, pt, o.out), -1);
  assert.ok(
    o.out.every((x) => x === 0),
    'output zeroed',
  );
  o.check();
  // wipe() forgets every key context of this thread; later calls key afresh.
  b.wipe();
  assert.equal(b.stats()[0], 0);
  assert.equal(toHex(node.aeadSeal('aes-128-gcm', key, nonce, pt, pt)), toHex(nodeCrypto.aeadSeal('aes-128-gcm', key, nonce, pt, pt)));
});

test('[SPEC 4.4] HOPSAFE_NO_NATIVE=1 turns it off: node:crypto alone, same vectors; native: true then fails typed', () => {
  const script = `
    import { createNodeProvider, nativeAeadStatus } from ${JSON.stringify(new URL('../../src/crypto/index.ts', import.meta.url).href)};
    const s = nativeAeadStatus();
    let code = 'none';
    try { createNodeProvider({ native: true }); } catch (e) { code = e.code; }
    const p = createNodeProvider();
    const sealed = p.aeadSeal('aes-128-gcm', new Uint8Array(16), new Uint8Array(12), new Uint8Array(3), new Uint8Array(0));
    console.log(JSON.stringify({ loaded: s.loaded, reason: s.reason, code, sealed: Buffer.from(sealed).toString('hex') }));`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, HOPSAFE_NO_NATIVE: '1' },
    encoding: 'utf8',
  });
  const r = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { loaded: boolean; reason: string; code: string; sealed: string };
  assert.equal(r.loaded, false);
  assert.match(r.reason, /HOPSAFE_NO_NATIVE/);
  assert.equal(r.code, 'ERR_UNSUPPORTED');
  const want = nodeCrypto.aeadSeal('aes-128-gcm', new Uint8Array(16), new Uint8Array(12), new Uint8Array(3), new Uint8Array(0));
  assert.equal(r.sealed, toHex(want));
});

test('[SPEC 4.4] wipe() of a key drops the context kept for it: the key leaves no schedule behind', { skip: disabled }, () => {
  const b = binding();
  b.wipe();
  const block = new Uint8Array(64).fill(5);
  const other = new Uint8Array(16).fill(6);
  const nonce = new Uint8Array(12);
  node.aeadSeal('aes-128-gcm', block.subarray(32, 48), nonce, nonce, nonce);
  node.aeadSeal('aes-128-gcm', other, nonce, nonce, nonce);
  assert.equal(b.stats()[0], 2);
  wipe(block.subarray(0, 16)); // another part of the buffer: its key stays
  assert.equal(b.stats()[0], 2);
  wipe(block.subarray(32, 48));
  assert.equal(b.stats()[0], 1, "the wiped key's context is gone, the other key's stays");
  wipe(other);
  assert.equal(b.stats()[0], 0);
});

test('[SPEC 4.4, 7.2] a key update and destroy() drop the native contexts of the keys they replace or wipe', {
  skip: disabled,
}, async () => {
  const b = binding();
  for (const protection of ['confidentiality', 'integrity'] as const) {
    const { sa, sb } = await handshake(await makePair({ protection }));
    const t = Date.now();
    b.wipe();
    assert.equal(sb.open(sa.seal(utf8('x')), t).length, 1);
    assert.equal(b.stats()[0], 2, `${protection}: the sender's and the receiver's key`);
    sb.open(sa.keyUpdate(t), t);
    assert.equal(sb.open(sa.seal(utf8('y')), t).length, 1);
    assert.equal(b.stats()[0], 2, `${protection}: epoch 0's contexts went with its keys`);
    sa.destroy();
    sb.destroy();
    assert.equal(b.stats()[0], 0, `${protection}: destroy() leaves none`);
  }
});
