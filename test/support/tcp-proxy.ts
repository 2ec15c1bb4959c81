/**
 * A plain TCP relay on a free port of its own, in front of a service (e.g. the system nats-server), that a test can
 * cut (every connection destroyed, new ones refused) and restore on the same port: a network partition of the
 * clients behind it, without touching the service.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort } from './services.js';

export interface TcpProxy {
  readonly port: number;
  /** Destroys every relayed connection and stops listening. */
  cut(): Promise<void>;
  /** Listens again on the same port (nothing when it listens already). */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** Keeps `socks` in `sockets` until they close (for a relay's drop-all), and swallows their errors (a peer's reset). */
export function trackSockets(sockets: Set<Socket>, ...socks: Socket[]): void {
  for (const x of socks) {
    sockets.add(x);
    x.on('close', () => sockets.delete(x));
    x.on('error', () => undefined);
  }
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(target);
        trackSockets(sockets, client, upstream);
        client.pipe(upstream);
        upstream.pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
      server = s;
    });
  const cut = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const x of sockets) x.destroy();
    sockets.clear();
    if (s !== undefined) await new Promise<void>((r) => s.close(() => r()));
  };
  await listen();
  // Listening already: nothing to do (a second server on the port would fail, and replacing `server` with it would
  // lose the listening one, which then keeps the process alive after close()).
  const restore = async (): Promise<void> => (server === undefined ? listen() : undefined);
  return { port, cut, restore, close: cut };
}
