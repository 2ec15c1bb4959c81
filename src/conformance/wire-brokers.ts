/**
 * The kit's wire on an external server (`hopsafe conformance --broker amqp://…|nats://…`): the kit subscribes to
 * every frame the IUT sends to anyone (`*.{w(iut)}` under the prefix: AMQP routing key / NATS subject, §8.3, §8.11)
 * and publishes raw frames to the IUT's inbox as any sender. Unlike the embedded broker, the server itself is not
 * the kit's: a frame the IUT sends to a kit id reaches no one else only because no one else listens there, and
 * other clients of the server could talk to the IUT — give the run a prefix of its own (the self-test draws one).
 * [SPEC 8.3, 8.11, Annex C.1]
 */
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { NatsConnection } from '@nats-io/transport-node';
import { HopsafeError } from '../errors/index.js';
import { requirePeer } from '../transport/peer-dependency.js';
import { idToWord, prefixWords } from '../bindings/amqp-routing.js';
import type { IutFrameSink, WireBackend } from './wire.js';

type AmqpLib = Pick<typeof import('amqplib'), 'connect'>;
type NatsLib = Pick<typeof import('@nats-io/transport-node'), 'connect'>;

/** The recipient id in a key/subject `[prefix.]{w(to)}.{w(iut)}` (the word mapping of §8.3 reversed), or undefined. */
function recipient(words: readonly string[], key: string): string | undefined {
  const parts = key.split('.');
  if (parts.length !== words.length + 2) return undefined;
  return parts[words.length]?.replaceAll('/', '.');
}

/** [SPEC 8.3] A topic exchange `exchange` (declared as hopsafe's binding does: durable), the kit's own queue. */
export async function connectAmqpBackend(url: string, exchange: string, iut: string, sink: IutFrameSink): Promise<WireBackend> {
  const amqp = requirePeer<AmqpLib>('amqplib', 'hopsafe conformance --broker amqp://');
  let conn: ChannelModel;
  try {
    conn = await amqp.connect(url);
  } catch (e) {
    throw new HopsafeError('ERR_TRANSPORT', `conformance: cannot connect to the AMQP broker: ${(e as Error).message}`, { cause: e });
  }
  conn.on('error', () => undefined);
  const ch: ConfirmChannel = await conn.createConfirmChannel();
  await ch.assertExchange(exchange, 'topic', { durable: true });
  const q = await ch.assertQueue('', { exclusive: true, autoDelete: true });
  await ch.bindQueue(q.queue, exchange, `*.${idToWord(iut)}`);
  await ch.consume(
    q.queue,
    (m: ConsumeMessage | null) => {
      if (!m) return;
      const to = recipient([], m.fields.routingKey);
      if (to !== undefined) sink(to, new Uint8Array(m.content));
    },
    { noAck: true },
  );
  const { AMQP_DEFAULT_MAX_FRAME_SIZE } = await import('../bindings/amqp.js');
  return {
    url,
    prefix: exchange,
    frameLimit: AMQP_DEFAULT_MAX_FRAME_SIZE,
    maxPublish: Number.POSITIVE_INFINITY, // RabbitMQ's default max_message_size is 128 MiB
    async inject(from, bytes) {
      ch.publish(exchange, `${idToWord(iut)}.${idToWord(from)}`, Buffer.from(bytes), { contentType: 'application/octet-stream' });
      await ch.waitForConfirms();
    },
    async close() {
      await ch.close().catch(() => undefined);
      await conn.close().catch(() => undefined);
    },
  };
}

/**
 * Self-test only (the kit started the IUT and has stopped it): removes what a run with a prefix of its own left on
 * the AMQP server — the IUT's durable queue `{exchange}.{iut}` (hopsafe's default queue name, §8.3) and the exchange.
 */
export async function removeAmqpRun(url: string, exchange: string, iut: string): Promise<void> {
  const amqp = requirePeer<AmqpLib>('amqplib', 'hopsafe conformance --broker amqp://');
  const conn = await amqp.connect(url);
  conn.on('error', () => undefined);
  try {
    const ch: Channel = await conn.createChannel();
    await ch.deleteQueue(`${exchange}.${iut}`);
    await ch.deleteExchange(exchange);
    await ch.close();
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** [SPEC 8.11] Core NATS: the kit subscribes to `{prefix}.*.{w(iut)}` and publishes on `{prefix}.{w(iut)}.{w(from)}`. */
export async function connectNatsBackend(url: string, prefix: string, iut: string, sink: IutFrameSink): Promise<WireBackend> {
  const nats = requirePeer<NatsLib>('@nats-io/transport-node', 'hopsafe conformance --broker nats://');
  const words = prefixWords(prefix);
  const server = new URL(url);
  let nc: NatsConnection;
  try {
    nc = await nats.connect({ servers: [`${server.hostname}:${server.port || '4222'}`], name: 'hopsafe-conformance-kit' });
  } catch (e) {
    throw new HopsafeError('ERR_TRANSPORT', `conformance: cannot connect to the NATS server: ${(e as Error).message}`, { cause: e });
  }
  nc.subscribe([...words, '*', idToWord(iut)].join('.'), {
    callback: (err, m) => {
      if (err) return;
      const to = recipient(words, m.subject);
      if (to !== undefined) sink(to, m.data.slice());
    },
  });
  await nc.flush(); // subscribed before the IUT is started
  const { NATS_DEFAULT_MAX_FRAME_SIZE } = await import('../bindings/nats.js');
  return {
    url,
    prefix,
    frameLimit: NATS_DEFAULT_MAX_FRAME_SIZE,
    maxPublish: nc.info?.max_payload ?? NATS_DEFAULT_MAX_FRAME_SIZE,
    async inject(from, bytes) {
      nc.publish([...words, idToWord(iut), idToWord(from)].join('.'), bytes);
      await nc.flush();
    },
    async close() {
      await nc.drain().catch(() => undefined);
    },
  };
}
