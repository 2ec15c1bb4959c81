/**
 * Builds bridge sides from URLs (used by `hopsafe bridge`). The scheme picks the transport: [SPEC 8.5]
 * - `mqtt://`, `mqtts://`, `ws://`, `wss://` → MQTT; query `prefix`, `qos`, `protocolVersion`.
 * - `amqp://`, `amqps://` → AMQP; query `exchange`, `durable`, `prefix` (routing-key prefix), `queuePrefix`,
 *   `prefetch`; other query parameters (heartbeat, frameMax...) are passed to amqplib.
 * - `nats://`, `tls://` → NATS; query `prefix`, `jetstream`, `stream`, `storage`, `prefetch`, `maxFrameSize` (nats-url.ts).
 * - `xmpp://`, `xmpps://` → XMPP; query `domain` (required), `resource`, `plainAuth`; each proxied id logs in
 *   as `{id}@{domain}` with its password from the credentials.
 * Credentials: `{ "<side>": { "<id>": "<password>" } }`; for MQTT sides an entry sets the id's username/password.
 * Broker connection (`hopsafe bridge --broker-ca/--broker-cert/--broker-key/--username/--password`): the TLS material
 * goes to every TLS side of MQTT (mqtts://, wss://) and AMQP (amqps://), the username/password to every MQTT and AMQP
 * side (an MQTT credentials-file entry for an id wins for that id). XMPP sides take neither: @xmpp/client 0.14 has
 * no TLS options (xmpps:// and STARTTLS verify the server against Node's CA store, extendable with
 * NODE_EXTRA_CA_CERTS) and each id logs in with its own password from the credentials file.
 */
import type { Logger } from 'pino';
import { HopsafeError } from '../errors/index.js';
import type { TransportFactory } from './bridge.js';
import { amqpBrokerOptions, mqttBrokerOptions, type BrokerConnection } from './broker-connection.js';

export type BridgeCredentials = Record<string, Record<string, string>>;

export interface SideSpec {
  readonly name: string;
  readonly kind: 'mqtt' | 'amqp' | 'xmpp' | 'nats';
  readonly url: URL;
}

/** Parses `name=URL`. */
export function parseSideSpec(text: string): SideSpec {
  const eq = text.indexOf('=');
  const name = eq < 0 ? '' : text.slice(0, eq);
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new HopsafeError('ERR_CONFIG', `side ${JSON.stringify(text)}: expected NAME=URL`);
  let url: URL;
  try {
    url = new URL(text.slice(eq + 1));
  } catch {
    throw new HopsafeError('ERR_CONFIG', `side ${name}: invalid URL`);
  }
  const scheme = url.protocol.replace(/:$/, '');
  const kind = ['mqtt', 'mqtts', 'ws', 'wss'].includes(scheme)
    ? 'mqtt'
    : ['amqp', 'amqps'].includes(scheme)
      ? 'amqp'
      : ['xmpp', 'xmpps'].includes(scheme)
        ? 'xmpp'
        : ['nats', 'tls'].includes(scheme)
          ? 'nats'
          : undefined;
  if (kind === undefined) throw new HopsafeError('ERR_CONFIG', `side ${name}: unsupported scheme ${scheme}`);
  return { name, kind, url };
}

function take(url: URL, key: string): string | undefined {
  const v = url.searchParams.get(key) ?? undefined;
  url.searchParams.delete(key);
  return v;
}

function int(v: string | undefined, label: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new HopsafeError('ERR_CONFIG', `${label} must be an integer`);
  return n;
}

/** A transport factory for one side; its transports log through `logger` bound to `{ side }` (and their transport name). */
/**
 * The transport factory of one side. Async: it imports only the binding this side uses, so that a bridge between
 * MQTT and AMQP needs no XMPP client installed (the client libraries are optional peer dependencies).
 */
export async function sideFactory(
  spec: SideSpec,
  credentials: BridgeCredentials = {},
  broker: BrokerConnection = {},
  logger?: Logger,
): Promise<TransportFactory> {
  const url = new URL(spec.url.href);
  const creds = credentials[spec.name] ?? {};
  const log = logger ? { logger: logger.child({ side: spec.name }) } : {};
  switch (spec.kind) {
    case 'mqtt': {
      const prefix = take(url, 'prefix');
      const qos = int(take(url, 'qos'), 'qos');
      const pv = int(take(url, 'protocolVersion'), 'protocolVersion');
      if (qos !== undefined && qos !== 0 && qos !== 1) throw new HopsafeError('ERR_CONFIG', 'qos must be 0 or 1');
      if (pv !== undefined && pv !== 4 && pv !== 5) throw new HopsafeError('ERR_CONFIG', 'protocolVersion must be 4 or 5');
      const href = url.href;
      const base = mqttBrokerOptions(broker, url.protocol === 'mqtts:' || url.protocol === 'wss:');
      const { mqttTransport } = await import('./mqtt.js');
      return (id) => {
        const password = creds[id];
        const mqttOptions = { ...base, ...(password !== undefined ? { username: id, password } : {}) };
        return mqttTransport({
          ...log,
          url: href,
          ...(prefix !== undefined ? { prefix } : {}),
          ...(qos !== undefined ? { qos } : {}),
          ...(pv !== undefined ? { protocolVersion: pv } : {}),
          ...(Object.keys(mqttOptions).length > 0 ? { mqttOptions } : {}),
        });
      };
    }
    case 'amqp': {
      const exchange = take(url, 'exchange');
      const durable = take(url, 'durable');
      const routingKeyPrefix = take(url, 'prefix');
      const queuePrefix = take(url, 'queuePrefix');
      const prefetch = int(take(url, 'prefetch'), 'prefetch');
      const href = url.href;
      const connection = amqpBrokerOptions(broker, url.protocol === 'amqps:');
      const { amqpTransport } = await import('./amqp.js');
      return () =>
        amqpTransport({
          ...log,
          url: href,
          ...connection,
          ...(exchange !== undefined ? { exchange } : {}),
          ...(durable !== undefined ? { durable: durable !== 'false' && durable !== '0' } : {}),
          ...(routingKeyPrefix !== undefined ? { routingKeyPrefix } : {}),
          ...(queuePrefix !== undefined ? { queuePrefix } : {}),
          ...(prefetch !== undefined ? { prefetch } : {}),
        });
    }
    case 'nats': {
      const { natsOptionsFromUrl } = await import('./nats-url.js');
      const options = natsOptionsFromUrl(url.href, broker);
      const { natsTransport } = await import('./nats.js');
      return () => natsTransport({ ...log, ...options });
    }
    case 'xmpp': {
      const domain = take(url, 'domain');
      const resource = take(url, 'resource');
      const plainAuth = take(url, 'plainAuth');
      if (domain === undefined) throw new HopsafeError('ERR_CONFIG', `side ${spec.name}: xmpp URL needs ?domain=`);
      if (plainAuth !== undefined && plainAuth !== 'always' && plainAuth !== 'loopback' && plainAuth !== 'never')
        throw new HopsafeError('ERR_CONFIG', 'plainAuth must be always, loopback or never');
      const service = `${url.protocol}//${url.host}`;
      const { xmppTransport } = await import('./xmpp.js');
      return (id) => {
        const password = creds[id];
        if (password === undefined)
          throw new HopsafeError('ERR_CONFIG', `side ${spec.name}: no XMPP password for ${id} in the credentials file`);
        return xmppTransport({
          ...log,
          service,
          domain,
          password,
          ...(resource !== undefined ? { resource } : {}),
          ...(plainAuth !== undefined ? { plainAuth } : {}),
        });
      };
    }
  }
}
