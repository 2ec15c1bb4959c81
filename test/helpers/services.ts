/**
 * Shared helpers for tests that need an external server (Mosquitto, RabbitMQ, Prosody).
 * Rule: unreachable service → the test SKIPS with a clear message, unless HOPSAFE_REQUIRE_SERVICES=1,
 * which makes it FAIL instead.
 */
import { connect } from 'node:net';
import { createServer } from 'node:net';

/** True when HOPSAFE_REQUIRE_SERVICES=1 (CI with the services running): a missing service fails the test. */
export const servicesRequired = process.env.HOPSAFE_REQUIRE_SERVICES === '1';

/** Resolves true when a TCP connection to host:port succeeds within `timeoutMs`. Never rejects. */
export async function serviceAvailable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Minimal view of node:test's TestContext (keeps this helper usable from `test()` and `describe()` hooks). */
export interface SkippableContext {
  skip(message?: string): void;
}

/**
 * Returns true when the test may go on. When the service is unavailable: skips `t` with a clear message
 * and returns false, or throws (failing the test) under HOPSAFE_REQUIRE_SERVICES=1.
 * Usage: `if (!requireOrSkip(t, 'Mosquitto 127.0.0.1:1883', await serviceAvailable('127.0.0.1', 1883))) return;`
 */
export function requireOrSkip(t: SkippableContext, name: string, available: boolean): boolean {
  if (available) return true;
  if (servicesRequired) throw new Error(`${name} is required (HOPSAFE_REQUIRE_SERVICES=1) but unavailable`);
  t.skip(`${name} unavailable — skipped (set HOPSAFE_REQUIRE_SERVICES=1 to make this a failure)`);
  return false;
}

/** A TCP port that was free a moment ago on 127.0.0.1 (for servers that cannot listen on port 0 themselves). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}
