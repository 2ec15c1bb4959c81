/**
 * `--pki DIR` with a vendor's own CA: when DIR holds `ca.pem` (a self-signed root CA certificate) and `ca.key` (its
 * PKCS#8 private key), the kit issues every certificate it needs under that CA instead of creating a PKI — its
 * own ids, the broken certificates of group 5 and the CRL — and uses `{ID}.pem` (and `{ID}.key`) from DIR for the
 * IUT when present (else it issues them too). [SPEC Annex C.1, 10]
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { derObjects, encodePem } from '../codec/pem.js';
import { encodeName, issueCertificate, issueCrl, spkiOf } from '../pki/issue.js';
import { HOPSAFE_URI_PREFIX, ID_KP_CLIENT_AUTH, ID_KP_HOPSAFE_ENDPOINT, ID_KP_SERVER_AUTH } from '../pki/oids.js';
import { parseCertificate, type KeyUsageName } from '../pki/x509.js';
import type { TestIdentity } from '../testing/index.js';
import { PKI_FILES } from './contract.js';
import type { BrokenKind } from './kit-pki.js';

const DAY = 86_400_000;

/** What the kit needs of a PKI: its roots, its CRL, leaves for ids and the broken certificates. */
export interface KitIssuer {
  readonly roots: readonly string[];
  /** The current CRL (PEM), listing the revoked certificates issued so far. */
  readonly crl: string;
  issue(o: { readonly id: string }): TestIdentity;
  readonly broken: Record<BrokenKind, (id: string) => TestIdentity>;
}

export interface VendorPki {
  readonly issuer: KitIssuer;
  /** The IUT's identity: from DIR when `{ID}.pem` is there (its key may be absent: the kit does not need it). */
  readonly iut: TestIdentity;
  /** Which of the IUT's files came from DIR (the kit never overwrites them). */
  readonly iutFromDir: boolean;
}

interface Ca {
  readonly name: Uint8Array;
  readonly key: KeyObject;
  readonly spki: Uint8Array;
}

interface LeafOptions {
  readonly id: string;
  readonly cn?: string;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly keyUsage?: readonly KeyUsageName[];
  readonly extKeyUsage?: readonly string[];
  readonly ca?: boolean;
}

async function readIf(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

const certPem = (der: Uint8Array): string => encodePem('CERTIFICATE', der);
const newKey = (): KeyObject => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const keyPem = (k: KeyObject): string => k.export({ type: 'pkcs8', format: 'pem' }).toString();

/** The vendor PKI in `dir`, or undefined when `dir` has no `ca.pem` and `ca.key` (the kit then creates one). */
export async function loadVendorPki(dir: string, iutId: string, now = new Date()): Promise<VendorPki | undefined> {
  const caPem = await readIf(join(dir, PKI_FILES.root));
  const caKey = await readIf(join(dir, PKI_FILES.caKey));
  if (caPem === undefined || caKey === undefined) return undefined;
  const caDer = derObjects(caPem, ['CERTIFICATE'], 'CA certificate')[0] as Uint8Array;
  const cert = parseCertificate(caDer);
  const ca: Ca = { name: cert.subject, key: createPrivateKey(caKey), spki: spkiOf(createPrivateKey(caKey)) };
  const revoked: { serialHex: string; date: Date }[] = [];

  const leaf = (o: LeafOptions, by: Ca = ca, tail: readonly Uint8Array[] = []): TestIdentity & { der: Uint8Array } => {
    const key = newKey();
    const der = issueCertificate(
      {
        subject: encodeName(o.cn ?? o.id, 'hopsafe conformance'),
        issuer: by.name,
        notBefore: o.notBefore ?? new Date(now.getTime() - 3_600_000),
        notAfter: o.notAfter ?? new Date(now.getTime() + 30 * DAY),
        publicKey: key,
        ...(o.ca ? { ca: true } : {}),
        keyUsage: o.keyUsage ?? ['digitalSignature'],
        extKeyUsage: o.extKeyUsage ?? [ID_KP_HOPSAFE_ENDPOINT, ID_KP_CLIENT_AUTH, ID_KP_SERVER_AUTH],
        san: { uris: [HOPSAFE_URI_PREFIX + (o.cn ?? o.id)], endpointIds: [o.cn ?? o.id] },
        issuerSpki: by.spki,
      },
      { key: by.key },
    );
    return { der, certificate: [der, ...tail].map(certPem).join(''), privateKey: keyPem(key) };
  };
  const strip = (x: TestIdentity): TestIdentity => ({ certificate: x.certificate, privateKey: x.privateKey });
  const crl = (): string =>
    encodePem('X509 CRL', issueCrl({ issuer: ca.name, issuerSpki: ca.spki, thisUpdate: new Date(now.getTime() - 60_000), nextUpdate: new Date(now.getTime() + 7 * DAY), revoked, crlNumber: revoked.length + 1 }, { key: ca.key }));

  const broken: Record<BrokenKind, (id: string) => TestIdentity> = {
    expired: (id) => strip(leaf({ id, notBefore: new Date(now.getTime() - 60 * DAY), notAfter: new Date(now.getTime() - DAY) })),
    notYetValid: (id) => strip(leaf({ id, notBefore: new Date(now.getTime() + DAY), notAfter: new Date(now.getTime() + 60 * DAY) })),
    wrongName: (id) => strip(leaf({ id, cn: `${id}-other` })),
    wrongKeyUsage: (id) => strip(leaf({ id, keyUsage: ['keyEncipherment'] })),
    wrongExtKeyUsage: (id) => strip(leaf({ id, extKeyUsage: ['1.3.6.1.5.5.7.3.4'] })),
    caAsLeaf: (id) => strip(leaf({ id, ca: true, keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'] })),
    revoked: (id) => {
      const x = leaf({ id });
      revoked.push({ serialHex: parseCertificate(x.der).serialHex, date: new Date(now.getTime() - 1000) });
      state.crl = crl();
      return strip(x);
    },
    foreignRoot: (id) => {
      // another CA under the vendor CA's name
      const key = newKey();
      const foreign: Ca = { name: ca.name, key, spki: spkiOf(key) };
      return strip(leaf({ id }, foreign));
    },
    issuedByLeaf: (id) => {
      const mid = leaf({ id: `rogue-${id}` });
      const midKey = createPrivateKey(mid.privateKey);
      return strip(leaf({ id }, { name: parseCertificate(mid.der).subject, key: midKey, spki: spkiOf(midKey) }, [mid.der]));
    },
  };
  const state = { crl: crl() };
  const issuer: KitIssuer = {
    roots: [caPem],
    get crl() {
      return state.crl;
    },
    issue: (o) => strip(leaf(o)),
    broken,
  };
  const iutPem = await readIf(join(dir, PKI_FILES.chain(iutId)));
  if (iutPem !== undefined) return { issuer, iut: { certificate: iutPem, privateKey: (await readIf(join(dir, PKI_FILES.key(iutId)))) ?? '' }, iutFromDir: true };
  return { issuer, iut: strip(leaf({ id: iutId })), iutFromDir: false };
}
