/**
 * Benchmark 2: record protect+unprotect (session.seal + session.open) per mode, payload size and
 * provider, next to the bare primitive with the same key sizes (HMAC twice for integrity mode,
 * AEAD seal+open for confidentiality mode), interleaved. Framework overhead % = bare/record − 1.
 * The sender seals into a frame pool and gives each frame back once it was opened, as an endpoint does over a
 * transport that copies frames in `send` (every shipped binding, SPEC 8): frames of 4 KiB and more reuse memory. The
 * integrity rows at 16 KiB are also measured with fresh memory per frame (`…_fresh_frames`), to show what that costs.
 */
import { createNodeProvider } from '../src/crypto/node.js';
import { nativeAeadStatus } from '../src/crypto/native-aead.js';
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
import { FramePool } from '../src/bytes/frame-pool.js';

export const recordName = (mode: Protection, provider: string, size: number): string =>
  `record_${mode}_${provider}_${sizeLabel(size)}_msgs_per_s`;
export const bareName = (mode: Protection, provider: string, size: number): string =>
  `bare_${mode === 'integrity' ? 'hmac_sha256_x2' : 'aes128gcm_seal_open'}_${provider}_${sizeLabel(size)}_msgs_per_s`;

export async function benchRecords(c: Collector, o: BenchOptions, pki: TestPki, progress: Progress): Promise<void> {
  const suite = suiteByName(DEFAULT_SUITE);
  const providers: [string, CryptoProvider][] = [
    ['node', createNodeProvider()],
    ['node_crypto', createNodeProvider({ native: false })],
    ['noble', createNobleProvider()],
  ];
  const native = nativeAeadStatus();
  c.add(
    'native_aead_loaded',
    'bool',
    native.loaded ? 1 : 0,
    native.loaded
      ? `@hopsafe/native-aead serves the node provider's AEAD and HMAC (${native.openssl}); node_crypto rows: node:crypto alone`
      : `node provider on node:crypto alone: ${native.reason}`,
  );
  for (const mode of ['integrity', 'confidentiality'] as const) {
    for (const [pname, provider] of providers) {
      const pair = makePair(pki, [DEFAULT_SUITE], mode, provider);
      const pool = new FramePool();
      const { sa, sb } = await handshake({ ...pair, a: { ...pair.a, framePool: pool } });
      const fresh = await handshake(makePair(pki, [DEFAULT_SUITE], mode, provider));
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
          pool.release(f); // the transport copied it (SPEC 8 copiesFrames); the receiver's copy was `f` here
        };
        const recordFresh = (): void => {
          const d = fresh.sb.open(fresh.sa.seal(payload), now);
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
        const withFresh = mode === 'integrity' && pname === 'node' && size >= 16 * 1024;
        const [rr, rb, rf] = (await interleaved(withFresh ? [record, bare, recordFresh] : [record, bare], o.rateMs)) as [Rate, Rate, Rate?];
        if (rf)
          c.addRate(
            `${recordName(mode, pname, size).replace(/_msgs_per_s$/, '')}_fresh_frames_msgs_per_s`,
            'msgs/CPU-s',
            rf,
            cpuNote(rf, 'session.seal + session.open, a fresh frame per record (no frame pool)'),
          );
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
      fresh.sa.destroy();
      fresh.sb.destroy();
    }
  }
  for (const size of o.sizes)
    for (const mode of ['integrity', 'confidentiality'] as const)
      c.ratio(`record_${mode}_node_over_noble_${sizeLabel(size)}`, recordName(mode, 'node', size), recordName(mode, 'noble', size));
  // What the native accelerator gains: the default node provider over node:crypto alone, same records, interleaved.
  for (const size of o.sizes)
    for (const mode of ['integrity', 'confidentiality'] as const)
      c.ratio(
        `record_${mode}_node_over_node_crypto_${sizeLabel(size)}`,
        recordName(mode, 'node', size),
        recordName(mode, 'node_crypto', size),
      );
  // issue 19: record msgs/s over bare HMAC ×2 msgs/s (≥ 0.83 = framework overhead ≤ 20 %), per interleaved round.
  for (const size of o.sizes)
    c.ratio(
      `record_integrity_over_bare_hmac_${sizeLabel(size)}`,
      recordName('integrity', 'node', size),
      bareName('integrity', 'node', size),
    );
  // The same at 16 KiB with a fresh frame per record (no frame pool): what reusing frame memory gains.
  const big = o.sizes.filter((z) => z >= 16 * 1024);
  for (const size of big)
    c.ratio(
      `record_integrity_fresh_frames_over_bare_hmac_${sizeLabel(size)}`,
      `${recordName('integrity', 'node', size).replace(/_msgs_per_s$/, '')}_fresh_frames_msgs_per_s`,
      bareName('integrity', 'node', size),
    );
}
