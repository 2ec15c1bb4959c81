/**
 * `hopsafe/testing`: a throw-away PKI for tests, with a helper for every broken case the
 * validator must refuse. Generation is synchronous and fast (P-256 by default; RSA keys are
 * pooled because RSA key generation is slow). [SPEC 10.6]
 *
 * @module hopsafe/testing
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { derObjects, encodePem } from '../codec/pem.js';
import { fromHex } from '../bytes/index.js';
import { parseCertificate } from '../pki/x509.js';
import { parseRoleSpec, type RoleSpec } from '../pki/roles.js';
import { encodeName, issueAttributeCertificate, issueCertificate, issueCrl, spkiOf, type Signer } from '../pki/issue.js';
import { HOPSAFE_URI_PREFIX, ID_KP_CLIENT_AUTH, ID_KP_HOPSAFE_ENDPOINT, ID_KP_SERVER_AUTH } from '../pki/oids.js';
import type { KeyUsageName } from '../pki/x509.js';

/**
 * Key type of a test PKI's CAs and leaves: ECDSA P-256 (default) or P-384, Ed25519, RSA-2048 with PKCS#1 v1.5 or
 * with RSASSA-PSS certificate signatures (RSA keys come from a pool, as RSA key generation is slow).
 */
export type TestKeyType = 'p256' | 'p384' | 'ed25519' | 'rsa' | 'rsa-pss';

/** One endpoint of a test PKI: the id its certificate names (CN, SAN URI and otherName, SPEC 10.3) and its roles. */
export interface TestEndpointSpec {
  readonly id: string;
  /** "OPERATOR", "SECAUD", "custom=-7", or RoleSpec objects (with optional validity). */
  readonly roles?: readonly (string | RoleSpec)[];
}

/**
 * Options of {@link createTestPki} and {@link createTestPkiSync}: the endpoints to issue identities for, and the
 * shape of the PKI.
 */
export interface CreateTestPkiOptions {
  readonly endpoints: readonly TestEndpointSpec[];
  /** Key type of every CA and leaf. Default `p256`. */
  readonly keyType?: TestKeyType;
  /** Root → intermediate → leaf (depth 3) instead of root → leaf (depth 2). */
  readonly intermediate?: boolean;
  /** Reference time for validity periods (default: now). */
  readonly now?: Date;
  /** Leaf validity in days (default 30). */
  readonly days?: number;
  /**
   * An existing root CA to issue under instead of a fresh one (a vendor's PKI): its self-signed certificate and
   * PKCS#8 private key, PEM. The broken certificates are issued under it too (foreignRoot: another key under its name).
   */
  readonly ca?: { readonly certificate: string; readonly privateKey: string };
  /** Organization of the names this PKI issues (default "hopsafe test"). */
  readonly organization?: string;
}

/** An endpoint identity in the form `createEndpoint({ identity })` takes. */
export interface TestIdentity {
  /** PEM chain, leaf first (leaf + intermediate when there is one; never the root). */
  readonly certificate: string;
  /** PKCS#8 PEM. */
  readonly privateKey: string;
}

/**
 * What {@link TestPki.issue} puts into a further leaf certificate; by default a valid endpoint certificate for
 * `id`, valid from an hour before the PKI's `now` until `days` after it.
 */
export interface TestLeafOptions {
  readonly id: string;
  readonly roles?: readonly (string | RoleSpec)[];
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** null omits keyUsage. */
  readonly keyUsage?: readonly KeyUsageName[] | null;
  /** null omits extendedKeyUsage. Default: hopsafe endpoint, clientAuth, serverAuth. */
  readonly extKeyUsage?: readonly string[] | null;
  /** Make it a CA certificate (basicConstraints cA=TRUE, keyCertSign). */
  readonly ca?: boolean;
  /** Names to bind instead of the default CN=id + SAN URI + SAN otherName. */
  readonly names?: {
    readonly cn?: string;
    readonly dns?: readonly string[];
    readonly uris?: readonly string[];
    readonly endpointIds?: readonly string[];
  };
  /** Key type of this leaf. Default: the PKI's. */
  readonly keyType?: TestKeyType;
}

/**
 * [SPEC 10.6] A throw-away PKI made by {@link createTestPki}: a root (and optionally an intermediate), one identity per
 * endpoint, a CRL, and a generator for every certificate the validator must refuse (`broken`).
 *
 * @example
 * ```ts
 * const pki = await createTestPki({ endpoints: [{ id: 'alice' }, { id: 'bob', roles: ['OPERATOR'] }] });
 * const alice = await createEndpoint({ id: 'alice', identity: pki.identities.alice!, trust: pki.trust(), transport });
 * ```
 */
export interface TestPki {
  /** Key type of the CAs and of the leaves issued by default. */
  readonly keyType: TestKeyType;
  /** Reference time the validity periods were computed from. */
  readonly now: Date;
  /** Root CA certificate (PEM), the trust anchor; one entry. */
  readonly roots: string[];
  /** Intermediate CA certificates (also included in every identity chain). */
  readonly intermediates: string[];
  /** Identity of each endpoint of `CreateTestPkiOptions.endpoints`, by id. */
  readonly identities: Record<string, TestIdentity>;
  /** Current CRL of the issuing CA (PEM); initially empty. `revoke` replaces it. */
  crl: string;
  /** Ready-made trust configuration: roots + current CRL. */
  trust(): { roots: string[]; crls: string[] };
  /** Issues another leaf from the issuing CA. */
  issue(opts: TestLeafOptions): TestIdentity;
  /** Revokes certificates (PEM chains; the leaf is revoked) or endpoint ids; returns and stores the new CRL. */
  revoke(...items: string[]): string;
  /** An RFC 5755 attribute certificate (PEM) giving `roles` to the identity of `id`, issued by the issuing CA. */
  attributeCertificate(
    idOrCertificate: string,
    roles: readonly (string | RoleSpec)[],
    validity?: { notBefore?: Date; notAfter?: Date },
  ): string;
  /** One generator per refusal case. Each returns an identity that presents itself as `id`. */
  readonly broken: {
    /** Validity ended a day before `now` (ERR_CERT_EXPIRED). */
    expired(id: string): TestIdentity;
    /** Validity starts a day after `now` (ERR_CERT_NOT_YET_VALID). */
    notYetValid(id: string): TestIdentity;
    /** keyUsage keyEncipherment only, without digitalSignature (ERR_CERT_USAGE). */
    wrongKeyUsage(id: string): TestIdentity;
    /** extendedKeyUsage emailProtection only (ERR_CERT_USAGE). */
    wrongExtKeyUsage(id: string): TestIdentity;
    /** Issues a fresh certificate for `id`, revokes it and returns it with the new CRL. */
    revoked(id: string): TestIdentity & { crl: string };
    /** Issued by a different CA whose name is identical to this PKI's root. */
    foreignRoot(id: string): TestIdentity & { root: string };
    /** A CA certificate (cA=TRUE, keyCertSign) presented as an endpoint's (ERR_CERT_USAGE). */
    caAsLeaf(id: string): TestIdentity;
    /** A valid certificate for another name (default `${id}-other`), to be presented as `id`. */
    wrongName(id: string, otherName?: string): TestIdentity;
    /** Certificate carrying `roles` (default VIEWER) instead of the endpoint's configured ones. */
    wrongRole(id: string, roles?: readonly (string | RoleSpec)[]): TestIdentity;
    /** Certificate whose role assignment expired yesterday. */
    expiredRole(id: string, role?: string): TestIdentity;
    /** Valid certificate with a private key that belongs to another certificate. */
    mismatchedKey(id: string): TestIdentity;
    /** A leaf whose issuer is another (non-CA) endpoint certificate. */
    issuedByLeaf(id: string): TestIdentity;
  };
}

const DAY = 86_400_000;
const RSA_POOL: KeyObject[] = [];
const RSA_POOL_MAX = 12;

let rsaNext = 0;

/** A key of `type` that is none of `avoid`. RSA keys come from a process-wide pool (RSA generation is slow). */
function generateKey(type: TestKeyType, avoid: ReadonlySet<KeyObject>): KeyObject {
  if (type === 'rsa' || type === 'rsa-pss') {
    for (let i = 0; i < RSA_POOL.length; i++) {
      const k = RSA_POOL[(rsaNext + i) % RSA_POOL.length] as KeyObject;
      if (!avoid.has(k)) {
        rsaNext = (rsaNext + i + 1) % RSA_POOL.length;
        return k;
      }
    }
    const fresh = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    if (RSA_POOL.length < RSA_POOL_MAX) RSA_POOL.push(fresh);
    return fresh;
  }
  return type === 'ed25519'
    ? generateKeyPairSync('ed25519').privateKey
    : generateKeyPairSync('ec', { namedCurve: type === 'p384' ? 'secp384r1' : 'prime256v1' }).privateKey;
}

const certPem = (der: Uint8Array): string => encodePem('CERTIFICATE', der);
const keyPem = (k: KeyObject): string => k.export({ format: 'pem', type: 'pkcs8' }).toString();

function toRoleSpecs(roles: readonly (string | RoleSpec)[] | undefined): RoleSpec[] {
  return (roles ?? []).map((r) => (typeof r === 'string' ? parseRoleSpec(r) : r));
}

interface Ca {
  readonly name: Uint8Array;
  readonly key: KeyObject;
  readonly spki: Uint8Array;
  readonly der: Uint8Array;
}

/** [SPEC 10.6] The CA of `CreateTestPkiOptions.ca`: its key must be the certificate's (else nothing it issues verifies). */
function givenCa(ca: { readonly certificate: string; readonly privateKey: string }): Ca {
  const der = derObjects(ca.certificate, ['CERTIFICATE'], 'CA certificate')[0] as Uint8Array;
  const cert = parseCertificate(der);
  const key = createPrivateKey(ca.privateKey);
  if (!cert.publicKey?.equals(createPublicKey(key))) throw new Error('the CA private key does not belong to the CA certificate');
  return { name: cert.subject, key, spki: spkiOf(key), der };
}

/** Creates a test PKI: a root (and optionally an intermediate) and one identity per endpoint. */
export async function createTestPki(opts: CreateTestPkiOptions): Promise<TestPki> {
  return createTestPkiSync(opts);
}

/** {@link createTestPki}, synchronously (for set-up outside async code, e.g. at module level); same result. */
export function createTestPkiSync(opts: CreateTestPkiOptions): TestPki {
  const keyType = opts.keyType ?? 'p256';
  const now = opts.now ?? new Date();
  const days = opts.days ?? 30;
  const used = new Set<KeyObject>();
  const signer = (key: KeyObject): Signer => ({ key, rsaPss: keyType === 'rsa-pss' });
  const tag = Buffer.from(randomBytes(4)).toString('hex');

  const org = opts.organization ?? 'hopsafe test';
  const makeCa = (name: Uint8Array, issuer: Ca | undefined, key: KeyObject, pathLen?: number): Ca => {
    const spki = spkiOf(key);
    const der = issueCertificate(
      {
        subject: name,
        issuer: issuer?.name ?? name,
        notBefore: new Date(now.getTime() - DAY),
        notAfter: new Date(now.getTime() + 3650 * DAY),
        publicKey: spki,
        ca: true,
        ...(pathLen !== undefined ? { pathLen } : {}),
        ...(issuer ? { issuerSpki: issuer.spki } : {}),
      },
      signer(issuer?.key ?? key),
    );
    return { name, key, spki, der };
  };

  const root = opts.ca ? givenCa(opts.ca) : makeCa(encodeName(`hopsafe test root ${tag}`, org), undefined, generateKey(keyType, used));
  used.add(root.key);
  const inter = opts.intermediate
    ? makeCa(encodeName(`hopsafe test intermediate ${tag}`, org), root, generateKey(keyType, used), 0)
    : undefined;
  if (inter) used.add(inter.key);
  const issuing = inter ?? root;
  const chainTail = inter ? [inter.der] : [];
  const revoked: { serialHex: string; date: Date }[] = [];
  let crlNumber = 1;
  const configuredRoles = new Map<string, RoleSpec[]>();

  const makeCrl = (): string =>
    encodePem(
      'X509 CRL',
      issueCrl(
        {
          issuer: issuing.name,
          issuerSpki: issuing.spki,
          thisUpdate: new Date(now.getTime() - 60_000),
          nextUpdate: new Date(now.getTime() + 7 * DAY),
          revoked,
          crlNumber: crlNumber++,
        },
        signer(issuing.key),
      ),
    );

  const leaf = (
    o: TestLeafOptions,
    ca: Ca = issuing,
    tail: readonly Uint8Array[] = chainTail,
    privateKeyOverride?: KeyObject | null,
  ): TestIdentity & { der: Uint8Array } => {
    const key = generateKey(o.keyType ?? keyType, used);
    const wrongKey = privateKeyOverride === null ? generateKey(o.keyType ?? keyType, new Set([...used, key])) : privateKeyOverride;
    const names = o.names ?? { cn: o.id, uris: [HOPSAFE_URI_PREFIX + o.id], endpointIds: [o.id] };
    const roles = toRoleSpecs(o.roles);
    const der = issueCertificate(
      {
        subject: encodeName(names.cn ?? `hopsafe endpoint ${tag}`, org),
        issuer: ca.name,
        notBefore: o.notBefore ?? new Date(now.getTime() - 3_600_000),
        notAfter: o.notAfter ?? new Date(now.getTime() + days * DAY),
        publicKey: key,
        ...(o.ca ? { ca: true } : {}),
        ...(o.keyUsage !== undefined ? { keyUsage: o.keyUsage } : o.ca ? {} : { keyUsage: ['digitalSignature'] as const }),
        extKeyUsage: o.extKeyUsage === undefined ? [ID_KP_HOPSAFE_ENDPOINT, ID_KP_CLIENT_AUTH, ID_KP_SERVER_AUTH] : o.extKeyUsage,
        san: {
          ...(names.dns ? { dns: names.dns } : {}),
          ...(names.uris ? { uris: names.uris } : {}),
          ...(names.endpointIds ? { endpointIds: names.endpointIds } : {}),
        },
        ...(roles.length > 0 ? { roles } : {}),
        issuerSpki: ca.spki,
      },
      signer(ca.key),
    );
    return { der, certificate: [der, ...tail].map(certPem).join(''), privateKey: keyPem(wrongKey ?? key) };
  };
  const strip = (x: TestIdentity & { der?: Uint8Array }): TestIdentity => ({ certificate: x.certificate, privateKey: x.privateKey });

  const identities: Record<string, TestIdentity> = {};
  for (const e of opts.endpoints) {
    configuredRoles.set(e.id, toRoleSpecs(e.roles));
    identities[e.id] = strip(leaf({ id: e.id, ...(e.roles ? { roles: e.roles } : {}) }));
  }

  const leafOf = (item: string): { serialHex: string; issuer: Uint8Array } => {
    const pem = item.includes('-----BEGIN') ? item : identities[item]?.certificate;
    if (!pem) throw new Error(`unknown endpoint ${item}`);
    const b64 = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem)?.[1] ?? '';
    const c = parseCertificate(new Uint8Array(Buffer.from(b64.replace(/\s+/g, ''), 'base64')));
    return { serialHex: c.serialHex, issuer: c.issuer };
  };

  const pki: TestPki = {
    keyType,
    now,
    roots: [certPem(root.der)],
    intermediates: inter ? [certPem(inter.der)] : [],
    identities,
    crl: makeCrl(),
    trust() {
      return { roots: [...pki.roots], crls: [pki.crl] };
    },
    issue: (o) => strip(leaf(o)),
    revoke(...items) {
      for (const it of items) revoked.push({ serialHex: leafOf(it).serialHex, date: new Date(now.getTime() - 1000) });
      pki.crl = makeCrl();
      return pki.crl;
    },
    attributeCertificate(idOrCert, roles, validity = {}) {
      const l = leafOf(idOrCert);
      const der = issueAttributeCertificate(
        {
          holderIssuer: l.issuer,
          holderSerial: fromHex(l.serialHex),
          issuer: issuing.name,
          notBefore: validity.notBefore ?? new Date(now.getTime() - 3_600_000),
          notAfter: validity.notAfter ?? new Date(now.getTime() + days * DAY),
          roles: toRoleSpecs(roles),
        },
        signer(issuing.key),
      );
      return encodePem('ATTRIBUTE CERTIFICATE', der);
    },
    broken: {
      expired: (id) => strip(leaf({ id, notBefore: new Date(now.getTime() - 60 * DAY), notAfter: new Date(now.getTime() - DAY) })),
      notYetValid: (id) => strip(leaf({ id, notBefore: new Date(now.getTime() + DAY), notAfter: new Date(now.getTime() + 60 * DAY) })),
      wrongKeyUsage: (id) => strip(leaf({ id, keyUsage: ['keyEncipherment'] })),
      wrongExtKeyUsage: (id) => strip(leaf({ id, extKeyUsage: ['1.3.6.1.5.5.7.3.4'] })),
      revoked(id) {
        const x = strip(leaf({ id, roles: configuredRoles.get(id) ?? [] }));
        const crl = pki.revoke(x.certificate);
        return { ...x, crl };
      },
      foreignRoot(id) {
        const foreign = makeCa(root.name, undefined, generateKey(keyType, new Set([root.key, issuing.key])));
        return { ...strip(leaf({ id }, foreign, [])), root: certPem(foreign.der) };
      },
      caAsLeaf: (id) => strip(leaf({ id, ca: true, keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'] })),
      wrongName: (id, other) => strip(leaf({ id: other ?? `${id}-other` })),
      wrongRole: (id, roles) => strip(leaf({ id, roles: roles ?? ['VIEWER'] })),
      expiredRole: (id, role = 'OPERATOR') => {
        const spec = parseRoleSpec(role);
        return strip(
          leaf({ id, roles: [{ ...spec, notBefore: new Date(now.getTime() - 30 * DAY), notAfter: new Date(now.getTime() - DAY) }] }),
        );
      },
      mismatchedKey: (id) => strip(leaf({ id }, issuing, chainTail, null)),
      issuedByLeaf(id) {
        // A valid endpoint certificate (no basicConstraints, digitalSignature only) used as if it were a CA.
        const k = generateKey(keyType, used);
        const midName = encodeName(`rogue-${id}`, org);
        const midDer = issueCertificate(
          {
            subject: midName,
            issuer: issuing.name,
            notBefore: new Date(now.getTime() - DAY),
            notAfter: new Date(now.getTime() + days * DAY),
            publicKey: k,
            keyUsage: ['digitalSignature'],
            issuerSpki: issuing.spki,
          },
          signer(issuing.key),
        );
        return strip(leaf({ id }, { name: midName, key: k, spki: spkiOf(k), der: midDer }, [midDer, ...chainTail]));
      },
    },
  };
  return pki;
}
