/**
 * Benchmark 3: per-message JOSE next to hopsafe records, same payload sizes: JWS ES256
 * (CompactSign + compactVerify) vs an integrity-mode record, JWE ECDH-ES with A256GCM
 * (CompactEncrypt + compactDecrypt; "ECDH-ES+A256GCM" = alg ECDH-ES, enc A256GCM) vs a
 * confidentiality-mode record. Both with a fresh signature / key agreement per message, as
 * per-message JOSE works.
 */
import type { TestPki } from '../src/testing/index.js';
import type { Collector } from './collector.js';
import { sizeLabel, type BenchOptions } from './options.js';
import type { Progress } from './progress.js';
import { handshake, makePair } from './contexts.js';
import { cpuNote, interleaved, type Rate } from './measure.js';
import { DEFAULT_SUITE } from './handshake.js';

export async function benchJose(c: Collector, o: BenchOptions, pki: TestPki, progress: Progress): Promise<void> {
  // jose is a devDependency: loaded here so the bench still runs the rest where it is absent.
  let jose: typeof import('jose');
  try {
    jose = await import('jose');
  } catch {
    const why = "the 'jose' package is not installed (a devDependency: npm install in the repository)";
    for (const s of o.sizes) c.skip(`jws_es256_${sizeLabel(s)}_msgs_per_s`, why);
    c.skipRatio('record_over_jws_es256_msgs_per_s', why);
    return;
  }
  const { CompactEncrypt, CompactSign, compactDecrypt, compactVerify, generateKeyPair } = jose;
  const sig = await generateKeyPair('ES256');
  const enc = await generateKeyPair('ECDH-ES', { crv: 'P-256' });
  const integ = await handshake(makePair(pki, [DEFAULT_SUITE], 'integrity'));
  const conf = await handshake(makePair(pki, [DEFAULT_SUITE], 'confidentiality'));
  const now = Date.now();
  for (const size of o.sizes) {
    progress.status(`jose: JWS ES256 / JWE ECDH-ES A256GCM vs records, ${sizeLabel(size)}`);
    const payload = new Uint8Array(size).fill(0x61);
    const jws = await new CompactSign(payload).setProtectedHeader({ alg: 'ES256' }).sign(sig.privateKey);
    const jwe = await new CompactEncrypt(payload).setProtectedHeader({ alg: 'ECDH-ES', enc: 'A256GCM' }).encrypt(enc.publicKey);
    c.add(`jws_es256_overhead_bytes_${sizeLabel(size)}`, 'bytes', jws.length - size, 'compact serialization length − payload length');
    c.add(
      `jwe_ecdh_es_a256gcm_overhead_bytes_${sizeLabel(size)}`,
      'bytes',
      jwe.length - size,
      'compact serialization length − payload length',
    );
    const [rj, ri, re, rc] = (await interleaved(
      [
        async () => {
          const t = await new CompactSign(payload).setProtectedHeader({ alg: 'ES256' }).sign(sig.privateKey);
          await compactVerify(t, sig.publicKey);
        },
        () => void integ.sb.open(integ.sa.seal(payload), now),
        async () => {
          const t = await new CompactEncrypt(payload).setProtectedHeader({ alg: 'ECDH-ES', enc: 'A256GCM' }).encrypt(enc.publicKey);
          await compactDecrypt(t, enc.privateKey);
        },
        () => void conf.sb.open(conf.sa.seal(payload), now),
      ],
      o.rateMs * 2,
    )) as [Rate, Rate, Rate, Rate];
    c.addRate(`jws_es256_${sizeLabel(size)}_msgs_per_s`, 'msgs/CPU-s', rj, cpuNote(rj, 'jose CompactSign + compactVerify'));
    c.addRate(
      `jose_side_record_integrity_${sizeLabel(size)}_msgs_per_s`,
      'msgs/CPU-s',
      ri,
      cpuNote(ri, 'integrity record seal+open, interleaved with JWS'),
    );
    c.addRate(`jwe_ecdh_es_a256gcm_${sizeLabel(size)}_msgs_per_s`, 'msgs/CPU-s', re, cpuNote(re, 'jose CompactEncrypt + compactDecrypt'));
    c.addRate(
      `jose_side_record_confidentiality_${sizeLabel(size)}_msgs_per_s`,
      'msgs/CPU-s',
      rc,
      cpuNote(rc, 'confidentiality record seal+open, interleaved with JWE'),
    );
    c.ratio(
      `record_over_jws_es256_msgs_per_s_${sizeLabel(size)}`,
      `jose_side_record_integrity_${sizeLabel(size)}_msgs_per_s`,
      `jws_es256_${sizeLabel(size)}_msgs_per_s`,
    );
    c.ratio(
      `record_over_jwe_msgs_per_s_${sizeLabel(size)}`,
      `jose_side_record_confidentiality_${sizeLabel(size)}_msgs_per_s`,
      `jwe_ecdh_es_a256gcm_${sizeLabel(size)}_msgs_per_s`,
    );
  }
  c.ratio('record_over_jws_es256_msgs_per_s', 'jose_side_record_integrity_256B_msgs_per_s', 'jws_es256_256B_msgs_per_s');
  for (const s of [integ, conf]) {
    s.sa.destroy();
    s.sb.destroy();
  }
}
