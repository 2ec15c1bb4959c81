/**
 * `nats://` / `tls://` URLs of `hopsafe peer --url` and `hopsafe bridge --side` as natsTransport options. [SPEC 8.11]
 * Query: `prefix`, `jetstream` (`1`/`true`), `stream`, `storage` (`file`/`memory`), `prefetch`, `maxFrameSize`;
 * credentials from the broker connection (`--username`/`--password`, TLS files for a `tls://` URL), or user:pass in
 * the URL. Imports no client library (the CLI loads hopsafe/nats only for such a URL).
 */
import { HopsafeError } from '../errors/index.js';
import type { BrokerConnection } from './broker-connection.js';
import type { NatsTransportOptions } from './nats.js';

/** The URL schemes that select the NATS transport; `tls://` requires TLS to the server. */
export const NATS_SCHEMES: readonly string[] = ['nats', 'tls'];

function flag(v: string | null, label: string): boolean | undefined {
  if (v === null) return undefined;
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw new HopsafeError('ERR_CONFIG', `${label} must be true or false`);
}

function int(v: string | null, label: string): number | undefined {
  if (v === null) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new HopsafeError('ERR_CONFIG', `${label} must be an integer`);
  return n;
}

/** [SPEC 8.11] natsTransport options for a `nats://host:port[?…]` or `tls://host:port[?…]` URL. */
export function natsOptionsFromUrl(text: string, broker: BrokerConnection = {}, prefix?: string): NatsTransportOptions {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new HopsafeError('ERR_CONFIG', 'invalid NATS URL');
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (!NATS_SCHEMES.includes(scheme)) throw new HopsafeError('ERR_CONFIG', `not a NATS URL scheme: ${scheme}`);
  const q = url.searchParams;
  const known = new Set(['prefix', 'jetstream', 'stream', 'storage', 'prefetch', 'maxFrameSize']);
  for (const k of q.keys()) if (!known.has(k)) throw new HopsafeError('ERR_CONFIG', `unknown NATS URL parameter ${k}`);
  const jetstream = flag(q.get('jetstream'), 'jetstream') ?? (q.has('stream') || q.has('storage') || q.has('prefetch'));
  const storage = q.get('storage');
  if (storage !== null && storage !== 'file' && storage !== 'memory')
    throw new HopsafeError('ERR_CONFIG', 'storage must be file or memory');
  const stream = q.get('stream');
  const prefetch = int(q.get('prefetch'), 'prefetch');
  const maxFrameSize = int(q.get('maxFrameSize'), 'maxFrameSize');
  const user = broker.username ?? (url.username !== '' ? decodeURIComponent(url.username) : undefined);
  const pass = broker.password ?? (url.password !== '' ? decodeURIComponent(url.password) : undefined);
  const tls = scheme === 'tls';
  const material = {
    ...(broker.ca !== undefined ? { ca: broker.ca } : {}),
    ...(broker.cert !== undefined ? { cert: broker.cert } : {}),
    ...(broker.key !== undefined ? { key: broker.key } : {}),
  };
  const p = q.get('prefix') ?? prefix;
  return {
    servers: `${scheme}://${url.host}`,
    ...(p !== undefined ? { prefix: p } : {}),
    ...(jetstream
      ? {
          jetstream: {
            ...(stream !== null ? { stream } : {}),
            ...(storage !== null ? { storage } : {}),
            ...(prefetch !== undefined ? { prefetch } : {}),
          },
        }
      : {}),
    ...(maxFrameSize !== undefined ? { maxFrameSize } : {}),
    ...(user !== undefined ? { user } : {}),
    ...(pass !== undefined ? { pass } : {}),
    ...(tls ? { tls: material } : {}),
  };
}
