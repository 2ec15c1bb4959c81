/**
 * Certificate path validation, revocation and role extraction for peers. [SPEC 10.2–10.5]
 *
 * Order of checks (the first failure decides the code):
 *   1. parse every presented certificate (ERR_MALFORMED)
 *   2. build a path leaf → … → configured root, verifying each signature (ERR_CERT_UNTRUSTED);
 *      every presented certificate must lie on that path (ERR_CERT_UNTRUSTED)
 *   3. validity of every certificate on the path, leaf first (ERR_CERT_EXPIRED / ERR_CERT_NOT_YET_VALID)
 *   4. usage: unknown critical extensions, CA constraints, path length, leaf not a CA, leaf keyUsage,
 *      leaf extendedKeyUsage, leaf key type (ERR_CERT_USAGE)
 *   5. revocation against the configured CRLs (ERR_CERT_REVOKED)
 *   6. endpoint-id binding (ERR_CERT_NAME)
 */
import { HopsafeError } from '../errors/index.js';
import { equal } from '../bytes/index.js';
import { derObjects } from '../codec/pem.js';
import { createNodeProvider } from '../crypto/node.js';
import type { CryptoProvider, PublicKeyHandle } from '../crypto/provider.js';
import type { PemOrDer, PeerVerifier, RoleAssignment, TrustConfig, VerifiedPeer, VerifyRequest } from './types.js';
import { parseCertificate, parseHashedCertificate, sha256Hex, type ParsedCert, type SubjectNames } from './x509.js';
import { parseCrl, type ParsedCrl } from './crl.js';
import { parseAttributeCertificate } from './attribute-cert.js';
import { keyProblem, verifySigned, type SpecResult } from './signature.js';
import { decodeRoleInformation, rolesAt, type DecodedRole } from './roles.js';
import { namesEndpoint } from './names.js';
import { refuse } from './refusal.js';
import { Lru } from '../util/lru.js';
import { violation } from './name-constraints.js';
import { ID_ANY_EKU, ID_KP_CLIENT_AUTH, ID_KP_HOPSAFE_ENDPOINT, ID_KP_SERVER_AUTH } from './oids.js';

/** EKU values that allow a certificate to be a hopsafe endpoint. [SPEC 10.2] */
export const DEFAULT_ACCEPTED_EKUS: readonly string[] = [ID_KP_CLIENT_AUTH, ID_KP_SERVER_AUTH, ID_KP_HOPSAFE_ENDPOINT, ID_ANY_EKU];
export const MAX_PRESENTED_CHAIN = 8;
export const MAX_PATH_LENGTH = 8;
export const MAX_ATTRIBUTE_CERTS = 8;
/**
 * [SPEC 10.2] Work budget of one validation: signature checks made while building paths (memoised ones
 * included). A budget that runs out before a path passes every check refuses with ERR_CERT_UNTRUSTED.
 */
export const MAX_SIGNATURE_CHECKS = 32;

/** What path building may still spend in one validation. [SPEC 10.2] */
interface Budget {
  signatures: number;
  exhausted: boolean;
  /** Why the last candidate failed, for the refusal's detail. */
  why: string;
}

/** Options of {@link createTrustStore}; all optional. */
export interface TrustStoreOptions {
  /** Clock for trust updates (onRevoked checks); `verify` uses `req.now`. */
  readonly clock?: () => Date;
  /** Validated chains kept, by leaf fingerprint (default 1024). */
  readonly cacheSize?: number;
  /** Accepted extendedKeyUsage OIDs when the extension is present (default DEFAULT_ACCEPTED_EKUS). */
  readonly eku?: readonly string[];
  /** 'if-present' (default): revocations in any configured CRL are honoured. 'require': every non-root certificate needs a current CRL from its issuer. */
  readonly crlMode?: 'if-present' | 'require';
  /** Provider that imports the peers' public keys and verifies certificate signatures. Default: node:crypto. */
  readonly provider?: CryptoProvider;
}

/**
 * The parts of a {@link TrustConfig} that {@link TrustStore.updateTrust} replaces: each given list replaces the
 * current one whole; an omitted one is kept.
 */
export interface TrustUpdate {
  readonly roots?: readonly PemOrDer[];
  readonly intermediates?: readonly PemOrDer[];
  readonly crls?: readonly PemOrDer[];
}

/**
 * [SPEC 10.2] [SPEC 10.5] A trust configuration (roots, intermediates, CRLs) that validates peer chains, with a
 * cache of validated paths and run-time updates. `verify` refuses with the first failing check of SPEC 10.2
 * (ERR_MALFORMED, ERR_CERT_UNTRUSTED, ERR_CERT_EXPIRED / ERR_CERT_NOT_YET_VALID, ERR_CERT_USAGE, ERR_CERT_REVOKED,
 * ERR_CERT_NAME). Endpoints build one from their `trust` option; create one directly to validate certificates
 * outside a session (e.g. in provisioning tools).
 */
export interface TrustStore extends PeerVerifier {
  /** Replaces the given parts of the configuration (atomically; ERR_MALFORMED leaves it unchanged). Returns the fingerprints reported to onRevoked. */
  updateTrust(update: TrustUpdate): string[];
  /** True if the certificate (DER, or the fingerprint of one this store has validated) is revoked by a configured CRL. */
  isRevoked(cert: Uint8Array | string): boolean;
  /** Called after updateTrust with leaf fingerprints, among those validated before, that are now revoked or no longer chain to a root. */
  onRevoked(listener: (fingerprints: string[]) => void): () => void;
  /**
   * [SPEC 10.5] Called when a validation passes although a CRL naming an issuer on the path could not be
   * validated (crlMode 'if-present'; in 'require' that refuses).
   */
  onWarning(listener: (warning: TrustWarning) => void): () => void;
  /**
   * Validated-path cache: entries held, and `verify` calls answered from it (`hits`) or validated in full (`misses`).
   */
  cacheStats(): { size: number; hits: number; misses: number };
  /** Empties the validated-path cache (every update of the trust configuration does this too). */
  clearCache(): void;
}

/** A validation that passed with a reservation. [SPEC 10.5] */
export interface TrustWarning {
  /** The code the same condition gets in crlMode 'require'. */
  readonly code: 'ERR_CERT_REVOKED';
  readonly reason: 'revocation-unverified';
  /** Leaf fingerprint (hex SHA-256). */
  readonly fingerprint: string;
  readonly detail: string;
}

/** What a revocation check needs of the certificate being checked. */
interface RevocationSubject {
  readonly serialHex: string;
  readonly issuer: Uint8Array;
  /** RFC 5280 §7.1 comparison key of `issuer`. */
  readonly issuerKey: string;
  readonly subjectText: string;
}

/**
 * What is kept of a validated leaf (cache and revocation re-checks): the fields a cache hit, attribute
 * certificates and revocation need, not the parsed certificate (≈4.7 KB each; the chain cache holds 1024).
 * The DER itself is not kept: a cache hit is for the very bytes presented (same SHA-256).
 */
interface CachedLeaf extends RevocationSubject, SubjectNames {
  readonly fingerprint: string;
  readonly notAfter: Date;
}

/** A validated path: the slimmed leaf, then its issuers (full certificates, shared with the configuration or presented). */
type RevocationPath = readonly [CachedLeaf, ...ParsedCert[]];

const NO_NAMES: readonly string[] = Object.freeze([]);
const names = (a: readonly string[]): readonly string[] => (a.length === 0 ? NO_NAMES : a.slice());

function slimPath(path: readonly ParsedCert[], fingerprint: string): RevocationPath {
  const [leaf, ...issuers] = path as [ParsedCert, ...ParsedCert[]];
  const slim: CachedLeaf = {
    fingerprint,
    serialHex: leaf.serialHex,
    issuer: leaf.issuer.slice(),
    issuerKey: leaf.issuerKey,
    subjectText: leaf.subjectText,
    notAfter: leaf.notAfter,
    commonNames: names(leaf.commonNames),
    dnsNames: names(leaf.dnsNames),
    uris: names(leaf.uris),
    endpointIds: names(leaf.endpointIds),
  };
  return [slim, ...issuers];
}

/** A validated chain as computed by fullValidation (the full leaf; slimmed before it is cached). */
interface Validated {
  readonly path: readonly ParsedCert[];
  readonly publicKey: PublicKeyHandle;
  readonly certRoles: readonly DecodedRole[];
  readonly validFrom: number;
  readonly validUntil: number;
}

interface CacheEntry {
  readonly generation: number;
  readonly path: RevocationPath;
  readonly pathFingerprints: readonly string[];
  readonly publicKey: PublicKeyHandle;
  readonly certRoles: readonly DecodedRole[];
  readonly validFrom: number;
  readonly validUntil: number;
}

interface Config {
  readonly roots: readonly ParsedCert[];
  readonly intermediates: readonly ParsedCert[];
  readonly crls: readonly ParsedCrl[];
}

function parseCerts(list: readonly PemOrDer[] | undefined, what: string): ParsedCert[] {
  const out: ParsedCert[] = [];
  for (const item of list ?? []) for (const der of derObjects(item, ['CERTIFICATE'], what)) out.push(parseCertificate(der));
  return out;
}

function parseCrls(list: readonly PemOrDer[] | undefined): ParsedCrl[] {
  const out: ParsedCrl[] = [];
  for (const item of list ?? []) for (const der of derObjects(item, ['X509 CRL'], 'CRL')) out.push(parseCrl(der));
  return out;
}

const specOk = (s: SpecResult): s is { ok: true; spec: Extract<SpecResult, { ok: true }>['spec'] } => s.ok;

/**
 * Builds a {@link TrustStore} from PEM or DER roots, intermediates and CRLs. Fails with ERR_CONFIG without a root
 * and ERR_MALFORMED on material that does not parse (SPEC 10.1).
 *
 * @example
 * ```ts
 * const store = createTrustStore({ roots: [readFileSync('ca.pem', 'utf8')], crls: [readFileSync('crl.pem', 'utf8')] });
 * const peer = await store.verify({ chain: [leafDer], claimedId: 'der-17', now: new Date() });
 * ```
 */
export function createTrustStore(trust: TrustConfig, opts: TrustStoreOptions = {}): TrustStore {
  const clock = opts.clock ?? (() => new Date());
  const provider = opts.provider ?? createNodeProvider();
  const accepted = new Set(opts.eku ?? DEFAULT_ACCEPTED_EKUS);
  const crlMode = opts.crlMode ?? 'if-present';
  const cacheSize = opts.cacheSize ?? 1024;
  const cache = new Lru<string, CacheEntry>(cacheSize);
  /**
   * Leaves validated before, for revocation re-checks on trust updates. The leaf is kept as the few fields
   * a re-check needs, not as a parsed certificate (≈5 KB each; 4096 of them dominated per-peer memory on an
   * endpoint with 10k peers); its issuers are the shared parsed roots/intermediates.
   */
  const seen = new Lru<string, RevocationPath>(Math.max(4 * cacheSize, 1024));
  const sigMemo = new Lru<string, boolean>(4096);
  const listeners = new Set<(fps: string[]) => void>();
  const warningListeners = new Set<(w: TrustWarning) => void>();
  const reported = new Lru<string, true>(Math.max(4 * cacheSize, 1024));
  let hits = 0;
  let misses = 0;
  let generation = 0;

  if (!trust || !Array.isArray(trust.roots) || trust.roots.length === 0)
    throw new HopsafeError('ERR_CONFIG', 'trust.roots must list at least one root certificate');
  let config: Config = {
    roots: parseCerts(trust.roots, 'trust root'),
    intermediates: parseCerts(trust.intermediates, 'trust intermediate'),
    crls: parseCrls(trust.crls),
  };

  function signedBy(
    child: { fingerprint: string; tbs: Uint8Array; signature: Uint8Array; sigSpec: SpecResult },
    issuer: ParsedCert,
  ): boolean {
    const key = `${child.fingerprint}/${issuer.fingerprint}`;
    const m = sigMemo.get(key);
    if (m !== undefined) return m;
    const ok = specOk(child.sigSpec) && verifySigned(child.sigSpec.spec, child.tbs, child.signature, issuer.publicKey);
    sigMemo.set(key, ok);
    return ok;
  }

  /**
   * Depth-first path building under a work budget. [SPEC 10.2] Yields every path [cert, …, root] found, in
   * order (roots first, then candidates issued under a root's name, then those whose subjectKeyIdentifier
   * matches the child's authorityKeyIdentifier, then the rest); the caller checks each and stops at the
   * first that passes.
   * Bounded: at most MAX_PATH_LENGTH certificates below the root, at most MAX_SIGNATURE_CHECKS signature
   * checks per validation (memoised ones count too, so the outcome does not depend on the memo), and a
   * (certificate, depth) state that led to no path is not explored again.
   */
  function* candidatePaths(
    leaf: ParsedCert,
    pool: readonly ParsedCert[],
    cfg: Config,
    budget: Budget,
  ): Generator<ParsedCert[], void, undefined> {
    const dead = new Set<string>();
    const check = (cert: ParsedCert, issuer: ParsedCert): boolean => {
      if (budget.signatures <= 0) {
        budget.exhausted = true;
        return false;
      }
      budget.signatures--;
      const ok = signedBy(cert, issuer);
      if (!ok)
        budget.why = cert.sigSpec.ok
          ? `signature of "${cert.subjectText}" does not verify with "${issuer.subjectText}"`
          : cert.sigSpec.reason;
      return ok;
    };
    function* walk(cert: ParsedCert, onPath: ReadonlySet<string>): Generator<ParsedCert[], boolean, undefined> {
      if (cfg.roots.some((r) => r.fingerprint === cert.fingerprint)) {
        yield [cert];
        return true;
      }
      const depth = onPath.size;
      const state = `${cert.fingerprint}@${depth}`;
      if (dead.has(state)) return false;
      if (depth >= MAX_PATH_LENGTH) {
        budget.why = `path longer than ${MAX_PATH_LENGTH}`;
        return false;
      }
      let found = false;
      for (const root of cfg.roots) {
        if (budget.exhausted) return found;
        if (root.subjectKey !== cert.issuerKey || !check(cert, root)) continue;
        found = true;
        yield [cert, root];
      }
      const akid = cert.authorityKeyId;
      const named = pool.filter((c) => !onPath.has(c.fingerprint) && c.subjectKey === cert.issuerKey);
      // Candidates one step from a root first, then those whose key id the child names (stable otherwise).
      const score = (c: ParsedCert): number =>
        (cfg.roots.some((r) => r.subjectKey === c.issuerKey) ? 2 : 0) + (akid && c.subjectKeyId && equal(c.subjectKeyId, akid) ? 1 : 0);
      const ordered = named
        .map((c) => [score(c), c] as const)
        .sort((a, b) => b[0] - a[0])
        .map(([, c]) => c);
      for (const cand of ordered) {
        if (budget.exhausted) return found;
        if (!check(cert, cand)) continue;
        const below = walk(cand, new Set([...onPath, cand.fingerprint]));
        for (let r = below.next(); ; r = below.next()) {
          if (r.done) {
            if (r.value) found = true;
            break;
          }
          found = true;
          yield [cert, ...r.value];
        }
      }
      if (!found && !budget.exhausted) dead.add(state);
      return found;
    }
    yield* walk(leaf, new Set([leaf.fingerprint]));
  }

  /**
   * [SPEC 10.5] The configured CRLs that name `cert`'s issuer, split into those that count (signature verifies
   * with `issuer`'s key, `issuer` may sign CRLs, no unsupported critical extension, thisUpdate ≤ now) and
   * those that cannot be validated (with the reason).
   */
  function crlsFor(cert: RevocationSubject, issuer: ParsedCert, cfg: Config, now: number): { usable: ParsedCrl[]; unusable: string[] } {
    const usable: ParsedCrl[] = [];
    const unusable: string[] = [];
    for (const c of cfg.crls) {
      if (c.issuerKey !== cert.issuerKey) continue;
      const why =
        issuer.keyUsage && !issuer.keyUsage.has('cRLSign')
          ? `its issuer "${issuer.subjectText}" lacks cRLSign`
          : c.unsupportedCritical.length > 0
            ? `unsupported critical CRL extension(s) ${c.unsupportedCritical.join(', ')}`
            : c.thisUpdate.getTime() > now
              ? `thisUpdate ${c.thisUpdate.toISOString()} is in the future`
              : !signedBy(c, issuer)
                ? `its signature does not verify with the key of "${issuer.subjectText}"`
                : undefined;
      if (why === undefined) usable.push(c);
      else unusable.push(`CRL from "${c.issuerText}": ${why}`);
    }
    return { usable, unusable };
  }

  /**
   * Revocation status of each non-root certificate on `path`. [SPEC 10.5] `unknown`: crlMode 'require' and
   * no current usable CRL. `unverified`: a CRL names the issuer but cannot be validated and no usable CRL
   * decides (crlMode 'if-present': the certificate passes, with a warning).
   */
  function checkRevocation(
    path: readonly RevocationSubject[],
    cfg: Config,
    now: number,
  ): {
    revoked?: RevocationSubject;
    unknown?: { cert: RevocationSubject; why: string };
    unverified: { cert: RevocationSubject; why: string }[];
    freshUntil: number;
  } {
    let freshUntil = Number.POSITIVE_INFINITY;
    const unverified: { cert: RevocationSubject; why: string }[] = [];
    for (let i = 0; i + 1 < path.length; i++) {
      const cert = path[i] as RevocationSubject;
      const { usable, unusable } = crlsFor(cert, path[i + 1] as ParsedCert, cfg, now);
      if (usable.some((c) => c.revoked.has(cert.serialHex))) return { revoked: cert, unverified, freshUntil };
      const current = usable.filter((c) => c.nextUpdate === undefined || c.nextUpdate.getTime() >= now);
      if (crlMode === 'require') {
        if (current.length === 0)
          return { unknown: { cert, why: unusable.length > 0 ? unusable.join('; ') : 'no current CRL' }, unverified, freshUntil };
        freshUntil = Math.min(freshUntil, Math.max(...current.map((c) => c.nextUpdate?.getTime() ?? Number.POSITIVE_INFINITY)));
      } else if (usable.length === 0 && unusable.length > 0) unverified.push({ cert, why: unusable.join('; ') });
    }
    return { unverified, freshUntil };
  }

  function warn(w: TrustWarning): void {
    for (const l of warningListeners) {
      try {
        l(w);
      } catch {
        // a listener's failure must not change a validation
      }
    }
  }

  /**
   * [SPEC 10.2] Builds candidate paths under the work budget and returns the first that passes every check;
   * when none does, the first candidate's refusal decides (or ERR_CERT_UNTRUSTED when none was found or the
   * budget ran out first).
   */
  function fullValidation(chain: readonly ParsedCert[], now: number, cfg: Config): Validated {
    const leaf = chain[0] as ParsedCert;
    const pool: ParsedCert[] = [];
    const inPool = new Set<string>();
    for (const c of [...chain.slice(1), ...cfg.intermediates])
      if (!inPool.has(c.fingerprint)) {
        inPool.add(c.fingerprint);
        pool.push(c);
      }
    const budget: Budget = { signatures: MAX_SIGNATURE_CHECKS, exhausted: false, why: `no trusted issuer found for "${leaf.issuerText}"` };
    let first: HopsafeError | undefined;
    for (const path of candidatePaths(leaf, pool, cfg, budget)) {
      try {
        return checkPath(path, chain, now, cfg);
      } catch (e) {
        if (!(e instanceof HopsafeError)) throw e;
        first ??= e;
      }
    }
    if (first) throw first;
    if (budget.exhausted) throw refuse('path-budget', `no acceptable path within ${MAX_SIGNATURE_CHECKS} signature checks`);
    throw refuse('no-path', budget.why);
  }

  /** Every check of SPEC 10.2 steps 2–5 on one candidate path. */
  function checkPath(path: readonly ParsedCert[], chain: readonly ParsedCert[], now: number, cfg: Config): Validated {
    const leaf = path[0] as ParsedCert;
    const fps = new Set(path.map((c) => c.fingerprint));
    for (const c of chain)
      if (!fps.has(c.fingerprint))
        throw refuse('extra-certificate', `presented certificate "${c.subjectText}" is not on the validated path`);
    // [SPEC 10.2] validity of every certificate, leaf first
    for (const c of path) {
      if (now < c.notBefore.getTime()) throw refuse('not-yet-valid', `"${c.subjectText}" is valid from ${c.notBefore.toISOString()}`);
      if (now > c.notAfter.getTime()) throw refuse('expired', `"${c.subjectText}" expired ${c.notAfter.toISOString()}`);
    }
    // [SPEC 10.2] usage
    for (const c of path)
      if (c.unknownCritical.length > 0)
        throw refuse(
          'unknown-critical-extension',
          `"${c.subjectText}" has unsupported critical extension(s) ${c.unknownCritical.join(', ')}`,
        );
    for (let i = 1; i < path.length; i++) {
      const ca = path[i] as ParsedCert;
      const isAnchor = i === path.length - 1;
      if (!isAnchor || ca.basicConstraints) {
        if (!ca.basicConstraints?.ca)
          throw refuse('issuer-not-ca', `"${ca.subjectText}" issued a certificate but is not a CA (basicConstraints)`);
      }
      if (ca.keyUsage && !ca.keyUsage.has('keyCertSign')) throw refuse('issuer-not-ca', `"${ca.subjectText}" keyUsage lacks keyCertSign`);
      // [SPEC 10.2] RFC 5280 §4.1.2.6: a CA's subject is a non-empty Name
      if (ca.constrainedNames.subjectRdns.length === 0) throw refuse('issuer-not-ca', 'a CA on the path has an empty subject');
      // [SPEC 10.2] RFC 5280 §4.2.1.9: self-issued intermediates do not count against pathLenConstraint
      let below = 0;
      for (let k = 1; k < i; k++) if (!(path[k] as ParsedCert).selfIssued) below++;
      if (ca.basicConstraints?.pathLen !== undefined && below > ca.basicConstraints.pathLen)
        throw refuse(
          'path-length',
          `"${ca.subjectText}" allows ${ca.basicConstraints.pathLen} intermediate(s) below it, path has ${below}`,
        );
    }
    // [SPEC 10.2] nameConstraints of every CA on the path (the root's included) govern every certificate below
    // it, except self-issued intermediates; an end-entity certificate may not carry them.
    if (leaf.nameConstraints && !leaf.basicConstraints?.ca)
      throw refuse('name-constraints', `"${leaf.subjectText}" is not a CA but has nameConstraints`);
    for (let j = path.length - 1; j >= 1; j--) {
      const nc = (path[j] as ParsedCert).nameConstraints;
      if (!nc) continue;
      for (let i = j - 1; i >= 0; i--) {
        const c = path[i] as ParsedCert;
        if (i > 0 && c.selfIssued) continue;
        // a CA's commonName binds no endpoint id: only the leaf's can (SPEC 10.3)
        const why = violation(i === 0 ? c.constrainedNames : { ...c.constrainedNames, bindingCommonNames: [] }, nc);
        if (why)
          throw refuse(
            'name-constraints',
            `"${c.subjectText}" violates the nameConstraints of "${(path[j] as ParsedCert).subjectText}": ${why}`,
          );
      }
    }
    if (leaf.basicConstraints?.ca) throw refuse('ca-as-leaf', `"${leaf.subjectText}" is a CA certificate and cannot be an endpoint`);
    if (leaf.keyUsage && !leaf.keyUsage.has('digitalSignature'))
      throw refuse('key-usage', `"${leaf.subjectText}" keyUsage lacks digitalSignature`);
    // [SPEC 10.2] RFC 5280 §4.2.1.3: keyCertSign asserted requires cA asserted
    if (leaf.keyUsage?.has('keyCertSign') && !leaf.basicConstraints?.ca)
      throw refuse('key-usage', `"${leaf.subjectText}" asserts keyCertSign without basicConstraints cA`);
    if (leaf.extKeyUsage && !leaf.extKeyUsage.some((o) => accepted.has(o)))
      throw refuse(
        'extended-key-usage',
        `"${leaf.subjectText}" extendedKeyUsage (${leaf.extKeyUsage.join(', ')}) allows none of ${[...accepted].join(', ')}`,
      );
    const kp = leaf.keyUnsupported ?? keyProblem(leaf.publicKey);
    if (kp) throw refuse('key-type', `"${leaf.subjectText}": ${kp}`);
    let publicKey: PublicKeyHandle;
    try {
      publicKey = provider.importPublicKey(leaf.spki);
    } catch (e) {
      throw refuse('key-type', `"${leaf.subjectText}": key not usable for signatures`, e);
    }
    // [SPEC 10.5] revocation
    const rev = checkRevocation(path, cfg, now);
    if (rev.revoked) throw refuse('revoked', `"${rev.revoked.subjectText}" (serial ${rev.revoked.serialHex}) is revoked`);
    if (rev.unknown) throw refuse('revocation-unknown', `status of "${rev.unknown.cert.subjectText}" unknown: ${rev.unknown.why}`);
    for (const u of rev.unverified)
      warn({
        code: 'ERR_CERT_REVOKED',
        reason: 'revocation-unverified',
        fingerprint: leaf.fingerprint,
        detail: `revocation status of "${u.cert.subjectText}" not verified: ${u.why}`,
      });
    const certRoles = leaf.roleInfo ? decodeRoleInformation(leaf.roleInfo, leaf) : [];
    return {
      path,
      publicKey,
      certRoles,
      validFrom: Math.max(...path.map((c) => c.notBefore.getTime())),
      validUntil: Math.min(rev.freshUntil, ...path.map((c) => c.notAfter.getTime())),
    };
  }

  /** Roles from attribute certificates whose holder is `leaf`, signed by a CA we know. Invalid ones are ignored. [SPEC 10.4] */
  function attributeRoles(acs: readonly Uint8Array[], entry: CacheEntry, cfg: Config, now: number): DecodedRole[] {
    if (acs.length > MAX_ATTRIBUTE_CERTS) throw refuse('malformed', `more than ${MAX_ATTRIBUTE_CERTS} attribute certificates`);
    const leaf = entry.path[0];
    const authorities = [...cfg.roots, ...cfg.intermediates, ...(entry.path.slice(1) as ParsedCert[])];
    const out: DecodedRole[] = [];
    for (const der of acs) {
      if (!(der instanceof Uint8Array)) throw refuse('malformed', 'attribute certificate is not bytes');
      const ac = parseAttributeCertificate(der);
      if (ac.holderSerialHex !== leaf.serialHex || !ac.holderIssuers.some((n) => equal(n, leaf.issuer))) continue;
      if (now < ac.notBefore.getTime() || now > ac.notAfter.getTime()) continue;
      const issuer = authorities.find((a) => ac.issuerNames.some((n) => equal(n, a.subject)) && signedBy(ac, a));
      if (!issuer || (issuer.basicConstraints && !issuer.basicConstraints.ca && !cfg.roots.includes(issuer))) continue;
      for (const ri of ac.roleInfos) out.push(...decodeRoleInformation(ri, ac));
    }
    return out;
  }

  async function verify(req: VerifyRequest): Promise<VerifiedPeer> {
    try {
      return verifySync(req);
    } catch (e) {
      if (e instanceof HopsafeError) throw e;
      throw new HopsafeError('ERR_MALFORMED', 'certificate validation failed on malformed input', { cause: e });
    }
  }

  function verifySync(req: VerifyRequest): VerifiedPeer {
    if (!req || !Array.isArray(req.chain) || req.chain.length === 0) throw refuse('malformed', 'empty certificate chain');
    if (req.chain.length > MAX_PRESENTED_CHAIN) throw refuse('malformed', `more than ${MAX_PRESENTED_CHAIN} certificates presented`);
    if (!(req.now instanceof Date) || Number.isNaN(req.now.getTime())) throw new HopsafeError('ERR_INPUT', 'req.now must be a valid Date');
    for (const c of req.chain) if (!(c instanceof Uint8Array)) throw refuse('malformed', 'certificate is not bytes');
    const now = req.now.getTime();
    const cfg = config;
    const leafFp = sha256Hex(req.chain[0] as Uint8Array);
    let entry = cache.get(leafFp);
    if (entry && (entry.generation !== generation || now < entry.validFrom || now > entry.validUntil)) {
      cache.delete(leafFp);
      entry = undefined;
    }
    // The presented certificates' fingerprints, each hashed once (the leaf's is leafFp).
    const presented = [leafFp, ...req.chain.slice(1).map((c) => sha256Hex(c))];
    if (entry) {
      const cached = entry;
      if (presented.some((fp) => !cached.pathFingerprints.includes(fp))) entry = undefined;
    }
    if (entry) hits++;
    else {
      misses++;
      const parsed = req.chain.map((c, i) => parseHashedCertificate(c, presented[i] as string));
      const v = fullValidation(parsed, now, cfg);
      const path = slimPath(v.path, leafFp);
      entry = {
        generation,
        path,
        pathFingerprints: [leafFp, ...v.path.slice(1).map((c) => c.fingerprint)],
        publicKey: v.publicKey,
        certRoles: v.certRoles,
        validFrom: v.validFrom,
        validUntil: v.validUntil,
      };
      if (cfg === config) {
        cache.set(leafFp, entry);
        seen.set(leafFp, path);
      }
    }
    const leaf = entry.path[0];
    if (!namesEndpoint(leaf, req.claimedId))
      throw refuse('name', `certificate "${leaf.subjectText}" does not name endpoint ${JSON.stringify(req.claimedId)}`);
    const acRoles =
      req.attributeCertificates && req.attributeCertificates.length > 0 ? attributeRoles(req.attributeCertificates, entry, cfg, now) : [];
    // Exact-size copy: the sessions of an endpoint keep this array for their lifetime.
    const roles: RoleAssignment[] = rolesAt([...entry.certRoles, ...acRoles], req.now).slice();
    // The presented leaf: the same bytes as the cached one (same SHA-256).
    // [SPEC 10.2] A session lasts no longer than the certificate on its path that expires first.
    const notAfter = new Date(Math.min(...entry.path.map((c) => c.notAfter.getTime())));
    return {
      id: req.claimedId,
      certificate: req.chain[0] as Uint8Array,
      publicKey: entry.publicKey,
      roles,
      fingerprint: leaf.fingerprint,
      notAfter,
    };
  }

  function updateTrust(update: TrustUpdate): string[] {
    const next: Config = {
      roots: update.roots !== undefined ? parseCerts(update.roots, 'trust root') : config.roots,
      intermediates: update.intermediates !== undefined ? parseCerts(update.intermediates, 'trust intermediate') : config.intermediates,
      crls: update.crls !== undefined ? parseCrls(update.crls) : config.crls,
    };
    if (next.roots.length === 0) throw new HopsafeError('ERR_CONFIG', 'trust.roots must list at least one root certificate');
    config = next;
    generation++;
    cache.clear();
    const now = clock().getTime();
    const gone: string[] = [];
    for (const [fp, path] of [...seen.entries()]) {
      const anchor = path[path.length - 1] as { readonly fingerprint: string }; // a root, or a leaf that is itself a root
      const anchored = next.roots.some((r) => r.fingerprint === anchor.fingerprint);
      const rev = anchored ? checkRevocation(path, next, now) : undefined;
      if (!anchored || rev?.revoked) {
        if (reported.peek(fp) === undefined) gone.push(fp);
        reported.set(fp, true);
      } else reported.delete(fp);
    }
    if (gone.length > 0)
      for (const l of listeners) {
        try {
          l([...gone]);
        } catch {
          // a listener's failure must not break the trust update
        }
      }
    return gone;
  }

  function isRevoked(cert: Uint8Array | string): boolean {
    const now = clock().getTime();
    const cfg = config;
    if (typeof cert === 'string') {
      const path = seen.peek(cert.toLowerCase());
      return path ? checkRevocation(path, cfg, now).revoked !== undefined : false;
    }
    const c = parseCertificate(cert);
    const known = [...cfg.roots, ...cfg.intermediates];
    for (const [, path] of seen.entries()) known.push(...(path.slice(1) as ParsedCert[]));
    const issuers = known.filter((i) => i.subjectKey === c.issuerKey);
    return issuers.some((i) => crlsFor(c, i, cfg, now).usable.some((crl) => crl.revoked.has(c.serialHex)));
  }

  return {
    verify,
    updateTrust,
    isRevoked,
    onRevoked(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onWarning(listener) {
      warningListeners.add(listener);
      return () => warningListeners.delete(listener);
    },
    cacheStats: () => ({ size: cache.size, hits, misses }),
    clearCache() {
      cache.clear();
    },
  };
}
