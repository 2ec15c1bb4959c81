/**
 * Glob routes for the bridge: `pattern=side`, first match wins. `*` matches any run of id characters,
 * `?` exactly one; everything else is literal. [SPEC 8.5]
 */
import { HopsafeError } from '../errors/index.js';

export interface RouteRule {
  readonly pattern: string;
  readonly side: string;
}

const GLOB = /^[A-Za-z0-9._*?-]{1,64}$/;

/** Parses `pattern=side` (e.g. `der-*=mqtt`). */
export function parseRouteRule(text: string): RouteRule {
  const eq = text.lastIndexOf('=');
  const pattern = eq < 0 ? '' : text.slice(0, eq);
  const side = eq < 0 ? '' : text.slice(eq + 1);
  if (!GLOB.test(pattern) || !/^[A-Za-z0-9_-]+$/.test(side))
    throw new HopsafeError('ERR_CONFIG', `route ${JSON.stringify(text)}: expected GLOB=SIDE (GLOB of id characters, * and ?)`);
  return { pattern, side };
}

export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.*?-]/g, (c) => (c === '*' ? '[A-Za-z0-9._-]*' : c === '?' ? '[A-Za-z0-9._-]' : `\\${c}`));
  return new RegExp(`^${body}$`);
}

/** A route function from rules; ids matching no rule route nowhere (undefined). */
export function routeFromRules(rules: readonly RouteRule[]): (id: string) => string | undefined {
  const compiled = rules.map((r) => ({ re: globToRegExp(r.pattern), side: r.side }));
  return (id) => compiled.find((c) => c.re.test(id))?.side;
}
