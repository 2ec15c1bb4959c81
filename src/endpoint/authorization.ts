/** Combines the `authorize` hook and the declarative policy (SPEC 8.7, 10.8) into one per-message decision. */
import { createAuthorizer, loadPolicy } from '../pki/policy.js';
import type { Authorize, EndpointOptions } from './options.js';

export function buildAuthorize(o: Pick<EndpointOptions, 'authorize' | 'policy' | 'classify'>): Authorize | undefined {
  const hook = o.authorize;
  const policy = o.policy === undefined ? undefined : createAuthorizer(typeof o.policy === 'string' ? loadPolicy(o.policy) : o.policy);
  if (!hook && !policy) return undefined;
  const classify = o.classify;
  return (ctx) => {
    if (hook && !hook(ctx)) return false;
    if (!policy) return true;
    const c = classify?.(ctx.data, { peer: ctx.peer, direction: ctx.direction }) ?? {};
    return policy({ peer: ctx.peer, roles: ctx.roles, direction: ctx.direction, ...c });
  };
}
