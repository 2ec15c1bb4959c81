/** Creates test endpoints on a memory hub (or any transport factory) from one test PKI. */
import { createEndpoint, type Endpoint } from '../../src/endpoint/endpoint.js';
import type { EndpointOptions } from '../../src/endpoint/options.js';
import type { MessageEvent, RejectEvent } from '../../src/endpoint/events.js';
import { createMemoryHub, type MemoryHub } from '../../src/bindings/memory.js';
import type { Transport } from '../../src/transport/transport.js';
import { createTestPki } from '../../src/testing/index.js';
import type { RoleSpec } from '../../src/pki/roles.js';

export interface Cast {
  readonly hub: MemoryHub;
  readonly pki: Awaited<ReturnType<typeof createTestPki>>;
  readonly eps: Record<string, Endpoint>;
  readonly inbox: Record<string, MessageEvent[]>;
  readonly rejects: Record<string, RejectEvent[]>;
  close(): Promise<void>;
}

export async function cast(
  ids: readonly string[],
  opts: Partial<Omit<EndpointOptions, 'id' | 'identity' | 'trust' | 'transport'>> & {
    perEndpoint?: Record<string, Partial<EndpointOptions>>;
    transport?: (id: string) => Transport;
    roles?: Record<string, readonly (string | RoleSpec)[]>;
  } = {},
): Promise<Cast> {
  const hub = createMemoryHub();
  const pki = await createTestPki({ endpoints: ids.map((id) => ({ id, roles: opts.roles?.[id] ?? ['VIEWER'] })) });
  const eps: Record<string, Endpoint> = {};
  const inbox: Record<string, MessageEvent[]> = {};
  const rejects: Record<string, RejectEvent[]> = {};
  const { perEndpoint, transport, roles: _roles, ...common } = opts;
  for (const id of ids) {
    const identity = pki.identities[id];
    if (!identity) throw new Error(id);
    const ep = await createEndpoint({
      id,
      identity,
      trust: { roots: pki.roots },
      transport: transport ? transport(id) : hub.transport(),
      ...common,
      ...perEndpoint?.[id],
    });
    inbox[id] = [];
    rejects[id] = [];
    ep.on('message', (m) => inbox[id]?.push(m));
    ep.on('reject', (r) => rejects[id]?.push(r));
    eps[id] = ep;
  }
  return {
    hub,
    pki,
    eps,
    inbox,
    rejects,
    async close() {
      await Promise.all(Object.values(eps).map((e) => e.close()));
    },
  };
}

/** Waits until `cond()` holds, polling; fails after `ms`. */
export async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const text = (m: MessageEvent): string => new TextDecoder().decode(m.data);
