/**
 * Hop-by-hop broker connection settings in one shape (TLS material and credentials), mapped onto each binding's
 * options. Used by `hopsafe peer` and `hopsafe bridge` (src/cli/broker-options.ts reads them from flags).
 */
import type { IClientOptions } from 'mqtt';
import type { AmqpTransportOptions } from './amqp.js';

export interface BrokerConnection {
  /** PEM CA certificate(s) for the broker's TLS certificate. */
  readonly ca?: Uint8Array;
  /** PEM client certificate (with `key`). */
  readonly cert?: Uint8Array;
  readonly key?: Uint8Array;
  readonly username?: string;
  /** Never logged or printed. */
  readonly password?: string;
}

const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/**
 * mqtt.js options: `ca`/`cert`/`key` only for a TLS URL (mqtts://, wss://: mqtt.js would switch a plain mqtt:// URL to
 * TLS when it sees a cert and key) and `username`/`password`.
 */
export function mqttBrokerOptions(b: BrokerConnection, tls: boolean): IClientOptions {
  return {
    ...(tls && b.ca !== undefined ? { ca: buf(b.ca) } : {}),
    ...(tls && b.cert !== undefined ? { cert: buf(b.cert) } : {}),
    ...(tls && b.key !== undefined ? { key: buf(b.key) } : {}),
    ...(b.username !== undefined ? { username: b.username } : {}),
    ...(b.password !== undefined ? { password: b.password } : {}),
  };
}

/** amqpTransport options: `tls` (only for amqps:// — the transport refuses it otherwise) and `username`/`password`. */
export function amqpBrokerOptions(b: BrokerConnection, tls: boolean): Pick<AmqpTransportOptions, 'tls' | 'username' | 'password'> {
  const material = {
    ...(b.ca !== undefined ? { ca: b.ca } : {}),
    ...(b.cert !== undefined ? { cert: b.cert } : {}),
    ...(b.key !== undefined ? { key: b.key } : {}),
  };
  return {
    ...(tls && Object.keys(material).length > 0 ? { tls: material } : {}),
    ...(b.username !== undefined ? { username: b.username } : {}),
    ...(b.password !== undefined ? { password: b.password } : {}),
  };
}
