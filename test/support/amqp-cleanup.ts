/** Removes what a test declared on a RabbitMQ it did not start: its queues, then its exchange (missing ones ignored). */
import amqplib from 'amqplib';

export async function removeAmqpObjects(url: string, exchange: string, queues: Iterable<string>): Promise<void> {
  const conn = await amqplib.connect(url);
  try {
    const ch = await conn.createChannel();
    for (const q of queues) await ch.deleteQueue(q).catch(() => undefined);
    await ch.deleteExchange(exchange).catch(() => undefined);
  } finally {
    await conn.close().catch(() => undefined);
  }
}
