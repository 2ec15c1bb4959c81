/**
 * Benchmark 2: record protect+unprotect (session.seal + session.open) per mode, payload size and
 * provider, next to the bare primitive with the same key sizes (HMAC twice for integrity mode,
 * AEAD seal+open for confidentiality mode), interleaved. Framework overhead % = bare/record − 1.
 */
import { createNodeProvider } from '../src/crypto/node.js';
import { createNobleProvider } from '../src/crypto/noble.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import { suiteByName } from '../src/crypto/suites.js';
import { equal } from '../src/bytes/index.js';
import type { TestPki } from '../src/testing/index.js';
import type { Protection } from '../src/codec/tokens.js';
import type { Collector } from './collector.js';
import { sizeLabel, type BenchOptions } from './options.js';
import type { Progress } from './progress.js';
import { handshake, makePair } from './contexts.js';
import { cpuNote, interleaved, type Rate } from './measure.js';
import { DEFAULT_SUITE } from './handshake.js';

export const recordName = (mode: Protection, provider: string, size: number): string =>
  `record_${mode}_${provider}_${sizeLabel(size)}_msgs_per_s`;
export const bareName = (mode: Protection, provider: string, size: number): string =>
  `bare_${mode === 'integrity' ? 'hmac_sha256_x2' : 'aes128gcm_seal_open'}_${provider}_${sizeLabel(size)}_msgs_per_s`;

export async function benchRecords(c: Collector, o: BenchOptions, pki: TestPki, progress: Progress): Promise<void> {
  const suite = suiteByName(DEFAULT_SUITE);
  const providers: [string, CryptoProvider][] = [
    ['node', createNodeProvider()],
    ['noble', createNobleProvider()],
  ];
  for (const mode of ['integrity', 'confidentiality'] as const) {
    for (const [pname, provider] of providers) {
      const { sa, sb } = await handshake(makePair(pki, [DEFAULT_SUITE], mode, provider));
      const key = provider.randomBytes(mode === 'integrity' ? provider.hashLength(suite.hash) : 16);
      const nonce = provider.randomBytes(12);
      for (const size of o.sizes) {
        progress.status(`records: ${mode} ${pname} ${sizeLabel(size)}`);
        const payload = provider.randomBytes(size);
        const probe = sa.seal(payload);
        sb.open(probe, Date.now());
        const overhead = probe.length - size;
        if (size === o.sizes[0]) {
          c.add(
            `record_overhead_bytes_${mode}${pname === 'node' ? '' : `_${pname}`}`,
            'bytes',
            overhead,
            `header + ${mode === 'integrity' ? 'HMAC-SHA256 tag' : 'AES-128-GCM tag'}, ${DEFAULT_SUITE}`,
          );
          if (pname === 'node') {
            // [SPEC 7.6] The end-to-end acknowledgement a receiver sends back (one range), and its cost per DATA record
            // at the default cadence (one ACK per 32 records at full rate).
            const ack = sb.sealAck(Date.now());
            if (ack) {
              sa.open(ack, Date.now());
              c.add(`ack_record_bytes_${mode}`, 'bytes', ack.length, `one ACK record (one range), ${DEFAULT_SUITE}`);
              c.add(
                `ack_bytes_per_message_${mode}`,
                'bytes',
                ack.length / 32,
                'ACK bytes per DATA record at the default acks.every = 32 (reverse direction)',
              );
            }
          }
        }
        const headerLength = overhead - (mode === 'integrity' ? provider.hashLength(suite.hash) : 16);
        const aad = provider.randomBytes(headerLength);
        const macInput = provider.randomBytes(headerLength + size);
        const now = Date.now();
        const record = (): void => {
          const f = sa.seal(payload);
          const d = sb.open(f, now);
          if (d.length !== 1) throw new Error('record not delivered');
        };
        const bare =
          mode === 'integrity'
            ? (): void => {
                const tag = provider.hmac(suite.hash, key, macInput);
                if (!equal(provider.hmac(suite.hash, key, macInput), tag)) throw new Error('hmac mismatch');
              }
            : (): void => {
                const sealed = provider.aeadSeal(suite.aead, key, nonce, payload, aad);
                if (!provider.aeadOpen(suite.aead, key, nonce, sealed, aad)) throw new Error('aead open failed');
              };
        const [rr, rb] = (await interleaved([record, bare], o.rateMs)) as [Rate, Rate];
        c.addRate(
          recordName(mode, pname, size),
          'msgs/CPU-s',
          rr,
          cpuNote(rr, 'session.seal + session.open (header, seq, replay window, tag)'),
        );
        c.addRate(bareName(mode, pname, size), 'msgs/CPU-s', rb, cpuNote(rb, 'the bare primitive twice (protect + verify), same key size'));
        c.add(
          `record_framework_overhead_pct_${mode}_${pname}_${sizeLabel(size)}`,
          '%',
          (rb.perCpuSecond / rr.perCpuSecond - 1) * 100,
          'CPU time added over the bare primitive',
        );
      }
      sa.destroy();
      sb.destroy();
    }
  }
  for (const size of o.sizes)
    for (const mode of ['integrity', 'confidentiality'] as const)
      c.ratio(`record_${mode}_node_over_noble_${sizeLabel(size)}`, recordName(mode, 'node', size), recordName(mode, 'noble', size));
  // issue 19: record msgs/s over bare HMAC ×2 msgs/s (≥ 0.83 = framework overhead ≤ 20 %), per interleaved round.
  for (const size of o.sizes)
    c.ratio(
      `record_integrity_over_bare_hmac_${sizeLabel(size)}`,
      recordName('integrity', 'node', size),
      bareName('integrity', 'node', size),
    );
}
