/**
 * Role-based authorization from a declarative policy. [SPEC 10.8]
 * A rule matches a message when the peer holds one of its roles (or the rule says "*"), the
 * direction matches, and each of types/topics/peers present matches. A matching deny rule refuses;
 * otherwise a matching allow rule permits; otherwise `default` decides.
 */
import { HopsafeError } from '../errors/index.js';
import { PolicySchema, type Policy, type PolicyInput, type PolicyRule } from '../schemas/policy.js';
import type { RoleAssignment } from './types.js';

export type { Policy, PolicyInput, PolicyRule };

export interface AuthorizationContext {
  readonly peer: string;
  readonly roles: readonly RoleAssignment[];
  readonly direction: 'send' | 'receive';
  readonly type?: string;
  readonly topic?: string;
}

export type Authorizer = (ctx: AuthorizationContext) => boolean;

/** Glob → anchored RegExp: `**` any characters, `*` any run without '/', `?` one character other than '/'. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

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
  readonly types?: readonly RegExp[];
  readonly topics?: readonly RegExp[];
  readonly peers?: readonly RegExp[];
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
    ...(rule.types ? { types: rule.types.map(globToRegExp) } : {}),
    ...(rule.topics ? { topics: rule.topics.map(globToRegExp) } : {}),
    ...(rule.peers ? { peers: rule.peers.map(globToRegExp) } : {}),
  };
}

function matches(r: CompiledRule, ctx: AuthorizationContext): boolean {
  if (!r.directions.has(ctx.direction)) return false;
  if (!r.anyRole && !ctx.roles.some((a) => r.names.has(a.role) || r.ids.has(a.roleId))) return false;
  const test = (pats: readonly RegExp[] | undefined, v: string | undefined): boolean =>
    pats === undefined || (v !== undefined && pats.some((p) => p.test(v)));
  return test(r.types, ctx.type) && test(r.topics, ctx.topic) && test(r.peers, ctx.peer);
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
    if (denies.some((r) => matches(r, ctx))) return false;
    if (allows.some((r) => matches(r, ctx))) return true;
    return fallback;
  };
}
