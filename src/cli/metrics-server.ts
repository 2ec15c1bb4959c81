/**
 * `--metrics-port` / `--metrics-host`: serves a prom-client registry as GET /metrics (Prometheus text format) with
 * node:http, on 127.0.0.1 unless told otherwise. Anything else is 404 (405 for another method on /metrics).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { HopsafeError } from '../errors/index.js';

export const METRICS_HELP = `--metrics-port N     serve Prometheus metrics on http://HOST:N/metrics
                       (0: any free port)
  --metrics-host H     address to listen on (default 127.0.0.1)`;

export interface MetricsServer {
  /** http://host:port/metrics */
  readonly url: string;
  close(): Promise<void>;
}

/** The port of `--metrics-port`: an integer in [0, 65535]. */
export function metricsPort(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535)
    throw new HopsafeError('ERR_CONFIG', `--metrics-port ${JSON.stringify(text)}: a port number in 0..65535`);
  return n;
}

export async function serveMetrics(registry: Registry, port: number, host = '127.0.0.1'): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?', 1)[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new HopsafeError('ERR_CONFIG', `metrics server on ${host}:${port}: ${e.message}`, { cause: e })));
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shown}:${addr.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // a scraper's keep-alive connection must not hold the exit
      }),
  };
}
