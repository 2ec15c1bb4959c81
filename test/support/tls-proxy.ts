/**
 * A TLS front for a plain TCP service (e.g. the system RabbitMQ on 5672), started by a test on a free port of its
 * own: it requires a client certificate from `ca`, records the subject CN of every client that got through, and
 * pipes the bytes to the service. It stands in for a broker's TLS listener without reconfiguring the broker.
 */
import { connect, type Socket } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { TlsFiles } from './tls-certs.js';

export interface TlsProxy {
  readonly port: number;
  /** Subject CN of each client certificate accepted, in order. */
  readonly clients: string[];
  /** TLS handshakes the proxy refused (no or untrusted client certificate). */
  readonly refused: number;
  close(): Promise<void>;
}

export function startTlsProxy(files: TlsFiles, target: { host: string; port: number }): Promise<TlsProxy> {
  const sockets = new Set<Socket>();
  const clients: string[] = [];
  let refused = 0;
  const server = createServer(
    {
      key: readFileSync(files.serverKey),
      cert: readFileSync(files.serverCert),
      ca: readFileSync(files.ca),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (tlsSocket: TLSSocket) => {
      clients.push(String(tlsSocket.getPeerCertificate().subject?.CN ?? ''));
      const upstream = connect(target);
      for (const s of [tlsSocket, upstream]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          sockets.delete(s);
          tlsSocket.destroy();
          upstream.destroy();
        });
      }
      tlsSocket.pipe(upstream).pipe(tlsSocket);
    },
  );
  server.on('tlsClientError', () => refused++);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      resolve({
        port,
        clients,
        get refused() {
          return refused;
        },
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
