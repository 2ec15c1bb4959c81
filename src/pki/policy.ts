/**
 * Role-based authorization from a declarative policy. [SPEC 10.8]
 * A rule matches a message when the peer holds one of its roles (or the rule says "*"), the
 * direction matches, and each of types/topics/peers present matches. A matching deny rule refuses;
 * otherwise a matching allow rule permits; otherwise `default` decides.
 */
import { HopsafeError } from '../errors/index.js';
import { compileGlob, type GlobMatcher } from './glob.js';
import { PolicySchema, type Policy, type PolicyInput, type PolicyRule } from '../schemas/policy.js';
import type { RoleAssignment } from './types.js';

export type { Policy, PolicyInput, PolicyRule };
export { POLICY_MAX_GLOB_LENGTH } from '../schemas/policy.js';

/**
 * [SPEC 10.8] One message as a policy decides on it: the peer, its roles valid now, the direction seen from the local
 * endpoint, and the type and topic the endpoint's `classify` option gave (absent ones never match a rule that lists
 * types or topics).
 */
export interface AuthorizationContext {
  readonly peer: string;
  readonly roles: readonly RoleAssignment[];
  readonly direction: 'send' | 'receive';
  readonly type?: string;
  readonly topic?: string;
}

/**
 * [SPEC 10.8] A compiled policy, as {@link createAuthorizer} returns it: true allows the message, false refuses it
 * (ERR_FORBIDDEN). It never throws.
 */
export type Authorizer = (ctx: AuthorizationContext) => boolean;

/**
 * Longest message type, topic or peer id a policy decides on (UTF-16 code units). A longer value is refused
 * (deny, whatever the rules and the default say): the values come from the peer's message, and capping them
 * bounds the cost of one glob match to POLICY_MAX_VALUE_LENGTH × POLICY_MAX_GLOB_LENGTH steps. [SPEC 10.8]
 */
export const POLICY_MAX_VALUE_LENGTH = 1024;

function formatIssues(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  return error.issues
    .map((i) => {
      const path = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
      return `${path ? path.replace(/^\./, '') : '(root)'}: ${i.message}`;
    })
    .join('; ');
}

/** Validates a policy object; ERR_CONFIG with every problem listed. */
export function parsePolicy(input: unknown): Policy {
  const r = PolicySchema.safeParse(input);
  if (!r.success) throw new HopsafeError('ERR_CONFIG', `invalid policy: ${formatIssues(r.error)}`);
  return r.data;
}

/** Parses JSON policy text; ERR_CONFIG on bad JSON or schema violations. */
export function loadPolicy(jsonText: string): Policy {
  let obj: unknown;
  try {
    obj = JSON.parse(jsonText);
  } catch (e) {
    throw new HopsafeError('ERR_CONFIG', `policy is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  return parsePolicy(obj);
}

interface CompiledRule {
  readonly deny: boolean;
  readonly anyRole: boolean;
  readonly names: ReadonlySet<string>;
  readonly ids: ReadonlySet<number>;
  readonly directions: ReadonlySet<'send' | 'receive'>;
  readonly types?: readonly GlobMatcher[];
  readonly topics?: readonly GlobMatcher[];
  readonly peers?: readonly GlobMatcher[];
}

function compile(rule: PolicyRule): CompiledRule {
  const names = new Set<string>();
  const ids = new Set<number>();
  let anyRole = false;
  for (const r of rule.roles) {
    if (r === '*') anyRole = true;
    else if (typeof r === 'number') ids.add(r);
    else names.add(r);
  }
  return {
    deny: rule.effect === 'deny',
    anyRole,
    names,
    ids,
    directions: new Set(rule.direction === 'both' ? ['send', 'receive'] : [rule.direction]),
    ...(rule.types ? { types: rule.types.map(compileGlob) } : {}),
    ...(rule.topics ? { topics: rule.topics.map(compileGlob) } : {}),
    ...(rule.peers ? { peers: rule.peers.map(compileGlob) } : {}),
  };
}

function matches(r: CompiledRule, ctx: AuthorizationContext): boolean {
  if (!r.directions.has(ctx.direction)) return false;
  if (!r.anyRole && !ctx.roles.some((a) => r.names.has(a.role) || r.ids.has(a.roleId))) return false;
  const test = (pats: readonly GlobMatcher[] | undefined, v: string | undefined): boolean =>
    pats === undefined || (v !== undefined && pats.some((p) => p(v)));
  return test(r.types, ctx.type) && test(r.topics, ctx.topic) && test(r.peers, ctx.peer);
}

/** [SPEC 10.8] A string of at most POLICY_MAX_VALUE_LENGTH code units (or absent, where the field is optional). */
function decidable(v: unknown, optional: boolean): boolean {
  if (v === undefined) return optional;
  return typeof v === 'string' && v.length <= POLICY_MAX_VALUE_LENGTH;
}

/** Builds the decision function; ERR_CONFIG if `policy` is invalid. Never throws at decision time. */
export function createAuthorizer(policy: PolicyInput | Policy | unknown): Authorizer {
  const p = parsePolicy(policy);
  const rules = p.rules.map(compile);
  const denies = rules.filter((r) => r.deny);
  const allows = rules.filter((r) => !r.deny);
  const fallback = p.default === 'allow';
  return (ctx) => {
    if (!ctx || (ctx.direction !== 'send' && ctx.direction !== 'receive') || !Array.isArray(ctx.roles)) return false;
    // [SPEC 10.8] Values the policy cannot decide on in bounded time (or that are no strings) are refused.
    if (!decidable(ctx.peer, false) || !decidable(ctx.type, true) || !decidable(ctx.topic, true)) return false;
    if (denies.some((r) => matches(r, ctx))) return false;
    if (allows.some((r) => matches(r, ctx))) return true;
    return fallback;
  };
}
