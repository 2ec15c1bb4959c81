/** Checks the broker-connection tests (TLS, credentials) of every binding share. */
import assert from 'node:assert/strict';
import type { Transport } from '../../src/transport/transport.js';
import { cast, text, until, type Cast } from './endpoints.js';

/** Opens `transport` as `id`, which must be refused; returns the error (the transport is closed afterwards). */
export async function refusedOpen(transport: Transport, id: string, cleanup: Array<() => Promise<unknown>>): Promise<Error> {
  cleanup.push(() => transport.close());
  const err = await transport
    .open(id, () => undefined)
    .then(
      () => undefined,
      (e: unknown) => e as Error,
    );
  assert.ok(err !== undefined, `open of ${transport.name} as ${id} must be refused`);
  return err;
}

/**
 * Two endpoints (der-1, control-center) on `transport`: a handshake and one record each way, verified and delivered.
 * Returns the cast (closed by `cleanup`) for further checks.
 */
export async function recordsBothWays(
  transport: (id: string) => Transport,
  what: string,
  cleanup: Array<() => Promise<unknown>>,
): Promise<Cast> {
  const c = await cast(['der-1', 'control-center'], { transport });
  cleanup.push(() => c.close());
  await c.eps['der-1']!.send('control-center', new TextEncoder().encode('P=4.2MW'));
  await c.eps['control-center']!.send('der-1', new TextEncoder().encode('setpoint'));
  await until(() => c.inbox['control-center']!.length === 1 && c.inbox['der-1']!.length === 1, 10_000, `records over ${what}`);
  assert.equal(text(c.inbox['control-center']![0]!), 'P=4.2MW');
  assert.equal(text(c.inbox['der-1']![0]!), 'setpoint');
  return c;
}
