/**
 * The broker connection flags shared by `hopsafe peer` and `hopsafe bridge`: hop-by-hop TLS (`--broker-ca`,
 * `--broker-cert`, `--broker-key`: PEM files) and broker credentials (`--username`, `--password`, or the environment
 * variables HOPSAFE_BROKER_USERNAME / HOPSAFE_BROKER_PASSWORD; a flag wins over its variable). The password is
 * never printed. File errors name the flag (`--broker-ca nope.pem: no such file`).
 */
import { readOptionPem as readPem } from './read-option-file.js';
import { HopsafeError } from '../errors/index.js';
import type { BrokerConnection } from '../bindings/broker-connection.js';

export const BROKER_FLAGS = {
  'broker-ca': { type: 'string' },
  'broker-cert': { type: 'string' },
  'broker-key': { type: 'string' },
  username: { type: 'string' },
  password: { type: 'string' },
} as const;

export const BROKER_USAGE = `Broker connection (hop-by-hop; the hopsafe session is end-to-end either way):
  --broker-ca FILE     PEM CA certificate(s) the broker's TLS certificate must
                       chain to (default: Node's CA store)
  --broker-cert FILE   PEM client certificate for brokers that require one
                       (with --broker-key)
  --broker-key FILE    PEM private key of --broker-cert
  --username NAME      broker user (env HOPSAFE_BROKER_USERNAME)
  --password SECRET    broker password (env HOPSAFE_BROKER_PASSWORD, preferred:
                       a flag is visible in the process list)
  The TLS files need a TLS URL (mqtts://, wss://, amqps://, tls:// for NATS); a
  flag wins over its environment variable.`;

export interface BrokerFlagValues {
  readonly 'broker-ca'?: string | undefined;
  readonly 'broker-cert'?: string | undefined;
  readonly 'broker-key'?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
}

/** Reads the files and resolves flag/environment precedence. Throws ERR_CONFIG naming the flag. */
export function brokerConnection(values: BrokerFlagValues, env: NodeJS.ProcessEnv = process.env): BrokerConnection {
  if ((values['broker-cert'] === undefined) !== (values['broker-key'] === undefined))
    throw new HopsafeError('ERR_CONFIG', '--broker-cert and --broker-key go together');
  const ca = readPem('broker-ca', values['broker-ca']);
  const cert = readPem('broker-cert', values['broker-cert']);
  const key = readPem('broker-key', values['broker-key']);
  const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);
  const username = values.username ?? nonEmpty(env.HOPSAFE_BROKER_USERNAME);
  const password = values.password ?? nonEmpty(env.HOPSAFE_BROKER_PASSWORD);
  return {
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}

/** True when TLS material was given. */
export const hasTls = (b: BrokerConnection): boolean => b.ca !== undefined || b.cert !== undefined;

/** The URL schemes that carry TLS. */
export const isTlsScheme = (scheme: string): boolean =>
  scheme === 'mqtts' || scheme === 'wss' || scheme === 'amqps' || scheme === 'xmpps' || scheme === 'tls';
