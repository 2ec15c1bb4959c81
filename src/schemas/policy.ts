/** zod schema of the declarative RBAC policy (JSON). [SPEC 10.8] */
import { z } from 'zod';

/**
 * Longest glob in a policy (UTF-16 code units). With POLICY_MAX_VALUE_LENGTH (src/pki/policy.ts) it bounds one
 * match to 256 × 1024 automaton steps (src/pki/glob.ts). [SPEC 10.8]
 */
export const POLICY_MAX_GLOB_LENGTH = 256;

const pattern = z.string().min(1).max(POLICY_MAX_GLOB_LENGTH);

export const PolicyRuleSchema = z
  .object({
    /** allow (default) or deny; a matching deny rule wins over any allow rule. */
    effect: z.enum(['allow', 'deny']).default('allow'),
    /** Role names (VIEWER…RBACMNT or custom names), numeric IEC 62351-8 role ids, or "*" for any verified peer. */
    roles: z.array(z.union([z.string().min(1).max(64), z.number().int().min(-32768).max(32767)])).min(1),
    /** From the local endpoint's point of view: send = to the peer, receive = from the peer. */
    direction: z.enum(['send', 'receive', 'both']),
    /** Message types (glob); when present the message must have a matching type. */
    types: z.array(pattern).min(1).optional(),
    /** Topics (glob: `*` = any run without '/', `**` = anything, `?` = one character); when present the message must have a matching topic. */
    topics: z.array(pattern).min(1).optional(),
    /** Peer endpoint ids (glob); when present the peer must match. */
    peers: z.array(pattern).min(1).optional(),
  })
  .strict();

export const PolicySchema = z
  .object({
    default: z.enum(['deny', 'allow']),
    rules: z.array(PolicyRuleSchema).max(10_000),
  })
  .strict();

export type PolicyRule = z.output<typeof PolicyRuleSchema>;
/**
 * [SPEC 10.8] A validated authorization policy: a `default` (`deny` or `allow`) and `rules`, each with its `effect`
 * filled in (default `allow`). Produced by `parsePolicy` / `loadPolicy`.
 */
export type Policy = z.output<typeof PolicySchema>;
/**
 * [SPEC 10.8] An authorization policy as written (JSON or an object literal): a rule's `effect` may be omitted.
 *
 * @example
 * ```ts
 * const policy: PolicyInput = {
 *   default: 'deny',
 *   rules: [
 *     { roles: ['OPERATOR'], direction: 'receive', types: ['control/*'] },
 *     { roles: ['*'], direction: 'both', topics: ['telemetry/**'] },
 *   ],
 * };
 * ```
 */
export type PolicyInput = z.input<typeof PolicySchema>;
