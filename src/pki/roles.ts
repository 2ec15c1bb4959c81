/**
 * IEC 62351-8 role information: the RoleInformation structure (OID 1.2.840.10070.8.1) as an
 * identity-certificate extension or as an attribute of an RFC 5755 attribute certificate.
 * Encoding in schemas/hopsafe-roles.asn1. [SPEC 10.4]
 */
import { HopsafeError } from '../errors/index.js';
import type { RoleAssignment } from './types.js';
import { children, ctx, parseDer, smallInt, stringValue, TAG, time, type Tlv, utf8String } from '../codec/der-read.js';
import * as w from '../codec/der-write.js';

/** IEC 62351-8 predefined roles (Table "pre-defined roles"). Ids -32768..-1 are private (custom) roles. */
export const PREDEFINED_ROLES = {
  VIEWER: 0,
  OPERATOR: 1,
  ENGINEER: 2,
  INSTALLER: 3,
  SECADM: 4,
  SECAUD: 5,
  RBACMNT: 6,
} as const;
/**
 * [SPEC 10.4] Name of an IEC 62351-8 predefined role: VIEWER, OPERATOR, ENGINEER, INSTALLER, SECADM, SECAUD, RBACMNT.
 */
export type PredefinedRole = keyof typeof PREDEFINED_ROLES;

const NAME_BY_ID = new Map<number, string>(Object.entries(PREDEFINED_ROLES).map(([k, v]) => [v, k]));
export const ROLE_NAME_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
export const DEFAULT_AOR = 'hopsafe';
export const ROLE_DEFINITION = 'IEC62351-8';

/**
 * [SPEC 10.4] A role to put into a certificate's RoleInformation (issuing, `encodeRoleInformation`), as
 * `parseRoleSpec` reads it from text such as `OPERATOR` or `myrole=-7`.
 */
export interface RoleSpec {
  /** A predefined name (VIEWER…RBACMNT) or a custom name; custom roles need `roleId`. */
  readonly role: string;
  /** Required for custom roles (−32768…−1 recommended, 7…32767 are reserved by IEC 62351-8); ignored for predefined names. */
  readonly roleId?: number;
  /** Start of the role's own validity; without it the role inherits its certificate's. */
  readonly notBefore?: Date;
  /** End of the role's own validity; without it the role inherits its certificate's. */
  readonly notAfter?: Date;
  /** Area of responsibility (default "hopsafe"). */
  readonly aor?: string;
}

export function isPredefinedRole(name: string): name is PredefinedRole {
  return Object.hasOwn(PREDEFINED_ROLES, name);
}

/** Display name for a role id: the predefined name or `role:<id>`. */
export function roleNameForId(id: number): string {
  return NAME_BY_ID.get(id) ?? `role:${id}`;
}

/** Parses "OPERATOR", "SECAUD", "myrole=-7" or "-7" into a RoleSpec. */
export function parseRoleSpec(text: string): RoleSpec {
  const t = text.trim();
  const m = /^([A-Za-z0-9_.:-]+)=(-?\d+)$/.exec(t);
  if (m) return { role: m[1] ?? '', roleId: Number(m[2]) };
  if (/^-?\d+$/.test(t)) return { role: roleNameForId(Number(t)), roleId: Number(t) };
  const up = t.toUpperCase();
  if (isPredefinedRole(up)) return { role: up };
  throw new HopsafeError(
    'ERR_CONFIG',
    `unknown role ${JSON.stringify(text)} (predefined: ${Object.keys(PREDEFINED_ROLES).join(', ')}; custom roles as NAME=ID)`,
  );
}

function resolveId(r: RoleSpec): number {
  if (isPredefinedRole(r.role)) return PREDEFINED_ROLES[r.role];
  if (r.roleId === undefined || !Number.isInteger(r.roleId) || r.roleId < -32768 || r.roleId > 32767 || NAME_BY_ID.has(r.roleId))
    throw new HopsafeError('ERR_CONFIG', `custom role ${JSON.stringify(r.role)} needs a roleId in -32768..32767 outside 0..6`);
  if (!ROLE_NAME_PATTERN.test(r.role)) throw new HopsafeError('ERR_CONFIG', `invalid role name ${JSON.stringify(r.role)}`);
  return r.roleId;
}

/** DER RoleInformation for the given roles: one UserRoleInfo per role. [SPEC 10.4] */
export function encodeRoleInformation(roles: readonly RoleSpec[]): Uint8Array {
  if (roles.length === 0) throw new HopsafeError('ERR_CONFIG', 'RoleInformation needs at least one role');
  const entries = roles.map((r) => {
    const id = resolveId(r);
    const aor = r.aor ?? DEFAULT_AOR;
    const parts: Uint8Array[] = [w.seq(w.integer(id)), w.utf8String(aor), w.integer(0), w.utf8String(ROLE_DEFINITION), w.enumerated(1)];
    if (r.notBefore || r.notAfter) {
      if (!r.notBefore || !r.notAfter) throw new HopsafeError('ERR_CONFIG', 'a role validity needs both notBefore and notAfter');
      parts.push(w.tlv(0xa0, w.generalizedTime(r.notBefore), w.generalizedTime(r.notAfter)));
    }
    if (!isPredefinedRole(r.role)) parts.push(w.tlv(0xa1, w.utf8String(r.role)));
    return w.seq(...parts);
  });
  return w.seq(...entries);
}

export interface DecodedRole extends RoleAssignment {
  readonly aor: string;
}

/**
 * Decodes RoleInformation. Roles without their own validity take `container` (the certificate's
 * or attribute certificate's validity). Entries with operation delete(2) are dropped; a custom role
 * that uses a predefined name, or a predefined id with another name, is dropped. Throws ERR_MALFORMED.
 */
export function decodeRoleInformation(bytes: Uint8Array, container: { notBefore: Date; notAfter: Date }): DecodedRole[] {
  const out: DecodedRole[] = [];
  try {
    const top = parseDer(bytes, 'RoleInformation');
    const entries = children(top, 'RoleInformation');
    if (entries.length === 0 || entries.length > 64) throw new Error('RoleInformation must hold 1..64 entries');
    for (const e of entries) {
      // UserRoleInfo ::= SEQUENCE { userRole SEQUENCE OF INTEGER, aor UTF8String, revision INTEGER, roleDefinition UTF8String, … }
      const f = children(e, 'UserRoleInfo');
      const [ids, aorN, revN, defN] = f as (Tlv | undefined)[];
      const idList = children(ids, 'userRole').map((n) => smallInt(n, 'roleId', -32768, 32767));
      if (idList.length === 0 || aorN?.tag !== TAG.UTF8 || revN?.tag !== TAG.INTEGER || defN?.tag !== TAG.UTF8)
        throw new Error('bad UserRoleInfo');
      const aor = internAor(utf8String(aorN, 'aor'));
      utf8String(defN, 'roleDefinition');
      let operation = 1;
      let notBefore = container.notBefore;
      let notAfter = container.notAfter;
      let names: string[] | undefined;
      for (const n of f.slice(4)) {
        if (n.tag === TAG.ENUMERATED) operation = smallInt(n, 'operation', 0, 255, TAG.ENUMERATED);
        else if (n.tag === TAG.INTEGER)
          continue; // statusChangeSequence
        else if (n.tag === ctx(0, true)) {
          const [a, b] = children(n, 'role validity', n.tag);
          notBefore = time(a, 'role notBefore', TAG.GENERALIZED_TIME);
          notAfter = time(b, 'role notAfter', TAG.GENERALIZED_TIME);
        } else if (n.tag === ctx(1, true)) {
          names = children(n, 'role names', n.tag).map((x) => {
            if (x.tag !== TAG.UTF8) throw new Error('bad role name');
            return stringValue(x) as string;
          });
        } else throw new Error('unexpected UserRoleInfo field');
      }
      if (operation === 2) continue; // delete
      idList.forEach((id, i) => {
        const predefined = NAME_BY_ID.get(id);
        const given = names?.[i];
        let role: string;
        if (predefined !== undefined) {
          if (given !== undefined && given !== predefined) return;
          role = predefined;
        } else {
          if (given !== undefined && (!ROLE_NAME_PATTERN.test(given) || isPredefinedRole(given.toUpperCase()))) return;
          role = given ?? roleNameForId(id);
        }
        out.push({ role, roleId: id, notBefore, notAfter, aor });
      });
    }
  } catch (e) {
    if (e instanceof HopsafeError) throw e;
    throw new HopsafeError('ERR_MALFORMED', `RoleInformation: ${(e as Error).message}`, { cause: e });
  }
  return out;
}

/**
 * One string per distinct authority of record: every peer's role assignment holds one, and an endpoint with many peers
 * sees few distinct ones (bounded: past 256 distinct values, new ones are kept as decoded).
 */
const aors = new Map<string, string>();
function internAor(s: string): string {
  const hit = aors.get(s);
  if (hit !== undefined) return hit;
  if (aors.size < 256) aors.set(s, s);
  return s;
}

/**
 * A role assignment as a session keeps it for its lifetime: its validity as milliseconds, not Dates (a Date is ≈ 110
 * bytes of heap, and every peer of an endpoint kept two per role: ≈ 220 bytes per peer). `aor` when the role had one.
 */
export interface StoredRole {
  readonly role: string;
  readonly roleId: number;
  readonly notBeforeMs: number | undefined;
  readonly notAfterMs: number | undefined;
  readonly aor: string | undefined;
}

/** `roles` as a session stores them (see {@link StoredRole}). */
export function storeRoles(roles: readonly RoleAssignment[]): StoredRole[] {
  return roles.map((r) => ({
    role: r.role,
    roleId: r.roleId,
    notBeforeMs: r.notBefore?.getTime(),
    notAfterMs: r.notAfter?.getTime(),
    aor: (r as Partial<DecodedRole>).aor,
  }));
}

/** The RoleAssignment a stored role was made from (fresh Dates: the caller may keep or change them). */
function assignment(r: StoredRole): RoleAssignment {
  const out: { role: string; roleId: number; notBefore?: Date; notAfter?: Date; aor?: string } = { role: r.role, roleId: r.roleId };
  if (r.notBeforeMs !== undefined) out.notBefore = new Date(r.notBeforeMs);
  if (r.notAfterMs !== undefined) out.notAfter = new Date(r.notAfterMs);
  if (r.aor !== undefined) out.aor = r.aor;
  return out;
}

/** Every stored role as a RoleAssignment, valid now or not. */
export function storedAssignments(roles: readonly StoredRole[]): RoleAssignment[] {
  return roles.map(assignment);
}

/**
 * `rolesAtMs` over stored roles: the roles valid at `t` (inclusive bounds) as RoleAssignments, first of duplicate
 * (roleId, role) kept. [SPEC 10.4]
 */
export function storedRolesAtMs(roles: readonly StoredRole[], t: number): RoleAssignment[] {
  const out: RoleAssignment[] = [];
  next: for (let i = 0; i < roles.length; i++) {
    const r = roles[i] as StoredRole;
    if (r.notBeforeMs !== undefined && t < r.notBeforeMs) continue;
    if (r.notAfterMs !== undefined && t > r.notAfterMs) continue;
    for (let j = 0; j < i; j++) {
      const o = roles[j] as StoredRole;
      if (o.roleId !== r.roleId || o.role !== r.role) continue;
      if ((o.notBeforeMs === undefined || t >= o.notBeforeMs) && (o.notAfterMs === undefined || t <= o.notAfterMs)) continue next;
    }
    out.push(assignment(r));
  }
  return out;
}

/** Roles valid at `now` (inclusive bounds). [SPEC 10.4] */
export function rolesAt(roles: readonly RoleAssignment[], now: Date): RoleAssignment[] {
  return rolesAtMs(roles, now.getTime());
}

/**
 * `rolesAt` with the time in milliseconds: what every delivered message asks, so no Date, Set or key string is made
 * (a role list is a handful of entries: duplicates are found by a scan). Keeps the first of duplicate (roleId, role).
 */
export function rolesAtMs(roles: readonly RoleAssignment[], t: number): RoleAssignment[] {
  const out: RoleAssignment[] = [];
  next: for (const r of roles) {
    if (r.notBefore && t < r.notBefore.getTime()) continue;
    if (r.notAfter && t > r.notAfter.getTime()) continue;
    for (const o of out) if (o.roleId === r.roleId && o.role === r.role) continue next;
    out.push(r);
  }
  return out;
}
