import { randomBytes } from 'node:crypto';
import amqplib from 'amqplib';
import { amqpTransport } from '../../src/bindings/amqp.js';
import { serviceAvailable } from '../support/services.js';
import { conformance } from './suite.js';
import { removeAmqpObjects } from '../support/amqp-cleanup.js';

const URL = 'amqp://guest:guest@127.0.0.1:5672';
const exchange = `hopsafe-conf-${randomBytes(3).toString('hex')}`;
const queues = new Set<string>();
const MAX = 1024 * 1024; // documented for the suite: 1 MiB payloads (the binding allows 16 MiB frames)
conformance({
  name: 'AMQP on the system RabbitMQ',
  service: 'RabbitMQ 127.0.0.1:5672',
  available: () => serviceAvailable('127.0.0.1', 5672),
  transport: (id) => {
    queues.add(`${exchange}.${id}`);
    return amqpTransport({ url: URL, exchange, durable: false, maxFrameSize: MAX });
  },
  maxPayload: MAX - 67,
  maxFrameSize: MAX,
  timeoutMs: 15_000,
  async spy() {
    // A broker-side observer: a queue bound to every routing key of the exchange.
    const seen: string[] = [];
    const conn = await amqplib.connect(URL);
    const ch = await conn.createChannel();
    await ch.assertExchange(exchange, 'topic', { durable: false });
    const q = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(q.queue, exchange, '#');
    await ch.consume(q.queue, (m) => m && seen.push(Buffer.from(m.content).toString('hex')), { noAck: true });
    return { seen: () => seen, close: async () => void (await conn.close()) };
  },
  async teardown() {
    await removeAmqpObjects(URL, exchange, queues);
  },
});
