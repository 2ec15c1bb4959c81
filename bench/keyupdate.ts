/**
 * Benchmark 5: key update cost. hopsafe's single-message update (sender: keyUpdate; receiver:
 * open → new keys) vs a full re-handshake, both in-process; TLS 1.3 KeyUpdate only if node:tls
 * exposes it.
 */
import { TLSSocket } from 'node:tls';
import type { TestPki } from '../src/testing/index.js';
import type { Collector } from './collector.js';
import type { BenchOptions } from './options.js';
import type { Progress } from './progress.js';
import { handshake, makePair } from './contexts.js';
import { interleaved, type Rate } from './measure.js';
import { DEFAULT_SUITE } from './handshake.js';
import type { Session } from '../src/session/session.js';

export async function benchKeyUpdate(c: Collector, o: BenchOptions, pki: TestPki, progress: Progress): Promise<void> {
  progress.status('key update: single message vs re-handshake');
  const pair = makePair(pki, [DEFAULT_SUITE]);
  let s = await handshake(pair);
  let sa: Session = s.sa;
  let sb: Session = s.sb;
  const fresh = async (): Promise<void> => {
    s = await handshake(pair);
    sa = s.sa;
    sb = s.sb;
  };
  const probe = sa.keyUpdate(Date.now());
  sb.open(probe, Date.now());
  c.add('key_update_message_bytes', 'bytes', probe.length, 'the one KEY_UPDATE record (ClearToken2 in a protected record)');
  const [ru, rh] = (await interleaved(
    [
      async () => {
        if (sa.sendEpoch > 60_000) await fresh();
        const now = Date.now();
        const d = sb.open(sa.keyUpdate(now), now);
        if (d[0]?.type !== 'key-update' || sb.receiveEpoch !== sa.sendEpoch) throw new Error('peer has no new keys');
      },
      async () => void (await handshake(pair)),
    ],
    o.rateMs * 4,
  )) as [Rate, Rate];
  c.add(
    'key_update_us',
    'µs',
    1e6 / ru.perCpuSecond,
    `CPU µs of keyUpdate() on the sender + open() on the receiver until it holds the new keys (wall-clock ${Math.round(1e6 / ru.perSecond)} µs)`,
    ru.roundsPerCpuSecond?.map((x) => 1e6 / x),
  );
  c.add(
    'rehandshake_us',
    'µs',
    1e6 / rh.perCpuSecond,
    `CPU µs of a full 1-RT handshake, both sides (wall-clock ${Math.round(1e6 / rh.perSecond)} µs)`,
    rh.roundsPerCpuSecond?.map((x) => 1e6 / x),
  );
  c.ratio('rehandshake_over_key_update_time', 'rehandshake_us', 'key_update_us');
  c.add(
    'key_update_round_trips',
    'round trips',
    0,
    'one message, no reply awaited (counted by construction: keyUpdate returns one frame, open needs no answer)',
  );
  // [SPEC 7.2] vs TLS 1.3: node:tls offers no API to send a KeyUpdate (OpenSSL SSL_key_update is not exposed).
  const hasKeyUpdate = 'keyUpdate' in TLSSocket.prototype;
  if (hasKeyUpdate) c.skip('tls13_key_update_us', 'node:tls exposes keyUpdate but this bench does not drive it yet');
  else
    c.skip(
      'tls13_key_update_us',
      `node:tls ${process.versions.node} has no public KeyUpdate API (TLSSocket has renegotiate() for TLS 1.2 only; SSL_key_update is not exposed)`,
    );
}
