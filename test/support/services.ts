/**
 * Shared helpers for tests that need an external server (Mosquitto, RabbitMQ, Prosody).
 * Rule: unreachable service → the test SKIPS with a clear message, unless HOPSAFE_REQUIRE_SERVICES=1,
 * which makes it FAIL instead.
 */

/** True when HOPSAFE_REQUIRE_SERVICES=1 (CI with the services running): a missing service fails the test. */
export const servicesRequired = process.env.HOPSAFE_REQUIRE_SERVICES === '1';

/** TCP reachability and free ports: one implementation, in src/testing/net.ts. */
export { reachable as serviceAvailable, freePort } from './net.js';

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
