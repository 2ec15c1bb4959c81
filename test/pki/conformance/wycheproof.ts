/**
 * Wycheproof harness: runs a Wycheproof testvectors_v1 file through one CryptoProvider. [SPEC 4.4]
 *
 * Verdicts per vector: `pass` — a valid vector computed exactly (and, for AEAD, opened back), an invalid one
 * refused (an error, null, false or a different value), an acceptable one either way without a foreign error;
 * `expected deviation` — a valid vector outside what SPEC 4.4 supports, refused with a HopsafeError (the rule
 * that decides is named in DEVIATION_RULES); `fail` — anything else (a wrong value, an invalid vector accepted,
 * a valid supported vector refused, a non-Hopsafe exception).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AeadAlg, CryptoProvider, HashAlg, KexGroup } from '../../../src/crypto/provider.js';
import { screenSpki } from '../../../src/crypto/key-der.js';
import { concat, fromHex, toHex } from '../../../src/bytes/index.js';
import { HopsafeError } from '../../../src/errors/index.js';

interface Test {
  readonly tcId: number;
  readonly comment: string;
  readonly flags: readonly string[];
  readonly result: 'valid' | 'invalid' | 'acceptable';
  readonly [k: string]: unknown;
}
interface Group {
  readonly tests: readonly Test[];
  readonly [k: string]: unknown;
}
interface WycheproofFile {
  readonly algorithm: string;
  readonly schema: string;
  readonly testGroups: readonly Group[];
}

export type WVerdict = 'pass' | 'expected deviation' | 'fail';
export interface FileOutcome {
  readonly file: string;
  readonly counts: Record<WVerdict, number>;
  /** tcId + comment of every failing vector. */
  readonly failures: string[];
  /** rule → number of vectors it excused. */
  readonly deviations: Record<string, number>;
}

const dir = fileURLToPath(new URL('./wycheproof/', import.meta.url));
export const WYCHEPROOF_FILES: readonly string[] = readdirSync(dir)
  .filter((f) => f.endsWith('_test.json'))
  .sort();

/** Valid vectors hopsafe refuses on purpose, by rule. [SPEC 4.4] */
export const DEVIATION_RULES: Readonly<Record<string, string>> = {
  'aead-params':
    'AES-GCM with a 192-bit key or a nonce other than 96 bits: SPEC 4.4 has AES-128/256-GCM with 12-byte nonces only (ERR_INPUT)',
  'compressed-point': 'compressed EC point: SPEC 4.4 accepts uncompressed SEC1 points only (ERR_MALFORMED)',
};

const hx = (s: unknown): Uint8Array => fromHex(String(s ?? ''));
const same = (a: Uint8Array, b: Uint8Array): boolean => toHex(a) === toHex(b);

type Attempt = { ok: true; value: unknown } | { ok: false; error: unknown };
function attempt(fn: () => unknown): Attempt {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** A private scalar as exactly `len` big-endian bytes (Wycheproof writes them as signed integers). */
function scalar(hex: string, len: number): Uint8Array {
  const b = fromHex(hex);
  let i = 0;
  while (i < b.length - len && b[i] === 0) i++;
  const t = b.subarray(i);
  const out = new Uint8Array(Math.max(len, t.length));
  out.set(t, out.length - t.length);
  return out;
}

/** Runs one vector: true when the provider produced the expected output ("accepted"), false when it refused. */
function runVector(
  p: CryptoProvider,
  file: WycheproofFile,
  g: Group,
  t: Test,
  cache: Map<Group, Attempt>,
): { accepted: Attempt; deviationRule?: string } {
  const schema = file.schema;
  if (schema.startsWith('aead_test_schema')) {
    const alg: AeadAlg = file.algorithm === 'CHACHA20-POLY1305' ? 'chacha20-poly1305' : g.keySize === 128 ? 'aes-128-gcm' : 'aes-256-gcm';
    const rule = file.algorithm === 'AES-GCM' && (g.keySize === 192 || g.ivSize !== 96) ? 'aead-params' : undefined;
    const [key, iv, aad, msg, ct, tag] = [hx(t.key), hx(t.iv), hx(t.aad), hx(t.msg), hx(t.ct), hx(t.tag)];
    if (rule && g.keySize === 192)
      return { accepted: { ok: false, error: new HopsafeError('ERR_INPUT', 'AES-192 is not offered') }, deviationRule: rule };
    const r = attempt(() => {
      const opened = p.aeadOpen(alg, key, iv, concat(ct, tag), aad);
      if (t.result === 'invalid') return opened !== null;
      const sealed = p.aeadSeal(alg, key, iv, msg, aad);
      return opened !== null && same(opened, msg) && same(sealed, concat(ct, tag));
    });
    return rule ? { accepted: r, deviationRule: rule } : { accepted: r };
  }
  if (schema.startsWith('mac_test_schema')) {
    const hash: HashAlg = file.algorithm === 'HMACSHA384' ? 'sha384' : 'sha256';
    const tag = hx(t.tag);
    return { accepted: attempt(() => same(p.hmac(hash, hx(t.key), hx(t.msg)).subarray(0, Number(g.tagSize) / 8), tag)) };
  }
  if (schema.startsWith('hkdf_test_schema')) {
    const hash: HashAlg = file.algorithm === 'HKDF-SHA-384' ? 'sha384' : 'sha256';
    return {
      accepted: attempt(() => same(p.hkdfExpand(hash, p.hkdfExtract(hash, hx(t.salt), hx(t.ikm)), hx(t.info), Number(t.size)), hx(t.okm))),
    };
  }
  if (schema.startsWith('xdh_comp_schema')) {
    return { accepted: attempt(() => same(p.kexDerive('x25519', hx(t.private), hx(t.public)), hx(t.shared))) };
  }
  if (schema.startsWith('ecdh_ecpoint_test_schema') || schema.startsWith('ecdh_test_schema')) {
    const group: KexGroup = g.curve === 'secp384r1' ? 'p384' : 'p256';
    const len = group === 'p384' ? 48 : 32;
    const compressed = t.flags.includes('CompressedPoint') || t.flags.includes('CompressedPublic');
    const r = attempt(() => {
      let point = hx(t.public);
      if (schema.startsWith('ecdh_test_schema')) {
        const k = screenSpki(point);
        if (k.type !== 'ec' || k.curve !== (group === 'p384' ? 'secp384r1' : 'prime256v1'))
          throw new HopsafeError('ERR_MALFORMED', 'not a key of this curve');
        point = k.point;
      }
      return same(p.kexDerive(group, scalar(String(t.private), len), point), hx(t.shared));
    });
    return compressed ? { accepted: r, deviationRule: 'compressed-point' } : { accepted: r };
  }
  if (schema.startsWith('ecdsa_p1363_verify_schema') || schema.startsWith('eddsa_verify_schema')) {
    let key = cache.get(g);
    if (!key) {
      key = attempt(() => p.importPublicKey(hx(g.publicKeyDer)));
      cache.set(g, key);
    }
    const k = key;
    if (!k.ok) return { accepted: k };
    return { accepted: attempt(() => p.verify(k.value as Parameters<CryptoProvider['verify']>[0], hx(t.msg), hx(t.sig))) };
  }
  throw new Error(`unknown Wycheproof schema ${schema}`);
}

export function runWycheproofFile(p: CryptoProvider, name: string): FileOutcome {
  const file = JSON.parse(readFileSync(`${dir}${name}`, 'utf8')) as WycheproofFile;
  const counts: Record<WVerdict, number> = { pass: 0, 'expected deviation': 0, fail: 0 };
  const failures: string[] = [];
  const deviations: Record<string, number> = {};
  const cache = new Map<Group, Attempt>();
  for (const g of file.testGroups)
    for (const t of g.tests) {
      const { accepted, deviationRule } = runVector(p, file, g, t, cache);
      const foreign = !accepted.ok && !(accepted.error instanceof HopsafeError);
      const yes = accepted.ok && accepted.value === true;
      let v: WVerdict;
      if (foreign) v = 'fail';
      else if (t.result === 'acceptable') v = 'pass';
      else if (t.result === 'invalid') v = yes ? 'fail' : 'pass';
      else if (yes) v = 'pass';
      else if (deviationRule && !accepted.ok) {
        v = 'expected deviation';
        deviations[deviationRule] = (deviations[deviationRule] ?? 0) + 1;
      } else v = 'fail';
      counts[v]++;
      if (v === 'fail')
        failures.push(
          `tcId ${t.tcId} (${t.result}, ${t.comment || t.flags.join(',')}): ${accepted.ok ? `got ${String(accepted.value)}` : String(accepted.error)}`,
        );
    }
  return { file: name, counts, failures, deviations };
}
