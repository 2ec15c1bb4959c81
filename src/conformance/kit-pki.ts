/**
 * The kit's PKI: a root that the IUT trusts, the IUT's identity, identities for the kit's own ids (issued on
 * demand) and the broken certificates of group 5 (the revoked one is listed in the CRL written for the IUT).
 * [SPEC Annex C.1, 10]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createNodeProvider } from '../crypto/node.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { derObjects } from '../codec/pem.js';
import { createTrustStore, loadIdentity, type LocalIdentity, type TrustStore } from '../pki/index.js';
import { createTestPkiSync, type TestIdentity } from '../testing/index.js';
import { PKI_FILES, TOPIC_PREFIX, KIT_ID_PREFIX } from './contract.js';
import type { KitIssuer, VendorPki } from './vendor-pki.js';

/** Which broken identity a certificate case presents. */
export type BrokenKind =
  | 'expired'
  | 'notYetValid'
  | 'wrongName'
  | 'foreignRoot'
  | 'revoked'
  | 'wrongKeyUsage'
  | 'wrongExtKeyUsage'
  | 'caAsLeaf'
  | 'issuedByLeaf';

export interface KitPki {
  readonly provider: CryptoProvider;
  /** The PKI the kit issues from: its own, or the vendor's CA (vendor-pki.ts). */
  readonly pki: KitIssuer;
  /** True when the CA came from the PKI directory. */
  readonly vendor: boolean;
  readonly iut: string;
  readonly iutIdentity: TestIdentity;
  /** The trust store the kit verifies the IUT with. */
  readonly trust: TrustStore;
  /** A genuine identity for kit id `id` (issued on first use). */
  identity(id: string): LocalIdentity;
  /** A broken identity presenting itself as `id` (the revoked ones exist before the CRL is written). */
  broken(kind: BrokenKind, id: string): LocalIdentity;
  /** Writes the IUT's files into `dir`. [Annex C.1] */
  write(dir: string, brokerUrl: string, prefix?: string): Promise<void>;
}

/** Ids whose revoked certificate is created up front, so that the CRL written for the IUT lists them. */
export const REVOKED_IDS = ['conf-5-1-5', 'conf-5-2-3'];

/** Builds a LocalIdentity without the consistency checks of loadIdentity (broken identities are the point). */
function rawIdentity(provider: CryptoProvider, id: string, t: TestIdentity): LocalIdentity {
  const [key] = derObjects(t.privateKey, ['PRIVATE KEY'], 'private key');
  return {
    id,
    chain: derObjects(t.certificate, ['CERTIFICATE'], 'certificate'),
    privateKey: provider.importPrivateKey(key as Uint8Array),
    attributeCertificates: [],
    roles: [],
  };
}

export function createKitPki(iut: string, vendor?: VendorPki): KitPki {
  const provider = createNodeProvider();
  let pki: KitIssuer;
  let iutIdentity: TestIdentity;
  if (vendor) {
    pki = vendor.issuer;
    iutIdentity = vendor.iut;
  } else {
    const own = createTestPkiSync({ endpoints: [{ id: iut }], days: 30 });
    pki = own;
    iutIdentity = own.identities[iut] as TestIdentity;
  }
  const revoked = new Map<string, TestIdentity>();
  for (const id of REVOKED_IDS) revoked.set(id, pki.broken.revoked(id));
  const trust = createTrustStore({ roots: [...pki.roots], crls: [pki.crl] }, { provider });
  const cache = new Map<string, LocalIdentity>();
  return {
    provider,
    pki,
    vendor: vendor !== undefined,
    iut,
    iutIdentity,
    trust,
    identity(id) {
      let li = cache.get(id);
      if (!li) {
        li = loadIdentity(pki.issue({ id }), id, { provider });
        cache.set(id, li);
      }
      return li;
    },
    broken(kind, id) {
      if (kind === 'revoked') {
        const r = revoked.get(id);
        if (!r) throw new Error(`no revoked certificate was prepared for ${id}`);
        return rawIdentity(provider, id, r);
      }
      return rawIdentity(provider, id, pki.broken[kind](id));
    },
    async write(dir, brokerUrl, prefix = TOPIC_PREFIX) {
      await mkdir(dir, { recursive: true });
      // a vendor's ca.pem and the IUT files found in DIR stay as they are
      if (!vendor) await writeFile(join(dir, PKI_FILES.root), pki.roots.join(''));
      await writeFile(join(dir, PKI_FILES.crl), pki.crl);
      if (!vendor?.iutFromDir) {
        await writeFile(join(dir, PKI_FILES.chain(iut)), iutIdentity.certificate);
        await writeFile(join(dir, PKI_FILES.key(iut)), iutIdentity.privateKey, { mode: 0o600 });
      }
      await writeFile(
        join(dir, PKI_FILES.info),
        `${JSON.stringify({ iut, broker: brokerUrl, prefix, kitIdPrefix: KIT_ID_PREFIX }, null, 2)}\n`,
      );
    },
  };
}
