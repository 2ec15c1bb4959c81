/**
 * `--pki DIR` with a vendor's own CA: when DIR holds `ca.pem` (a self-signed root CA certificate) and `ca.key` (its
 * PKCS#8 private key), the kit issues every certificate it needs under that CA instead of creating a PKI — its
 * own ids, the broken certificates of group 5 and the CRL — and uses `{ID}.pem` (and `{ID}.key`) from DIR for the
 * IUT when present (else it issues them too). The issuing is hopsafe/testing's (`createTestPkiSync` with `ca`), as
 * for the kit's own PKI. [SPEC Annex C.1, 10]
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTestPkiSync, type TestIdentity } from '../testing/index.js';
import { PKI_FILES } from './contract.js';
import type { BrokenKind } from './kit-pki.js';

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

async function readIf(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** The vendor PKI in `dir`, or undefined when `dir` has no `ca.pem` and `ca.key` (the kit then creates one). */
export async function loadVendorPki(dir: string, iutId: string, now = new Date()): Promise<VendorPki | undefined> {
  const caPem = await readIf(join(dir, PKI_FILES.root));
  const caKey = await readIf(join(dir, PKI_FILES.caKey));
  if (caPem === undefined || caKey === undefined) return undefined;
  const iutPem = await readIf(join(dir, PKI_FILES.chain(iutId)));
  const pki = createTestPkiSync({
    endpoints: iutPem === undefined ? [{ id: iutId }] : [],
    ca: { certificate: caPem, privateKey: caKey },
    organization: 'hopsafe conformance',
    now,
    days: 30,
  });
  if (iutPem !== undefined)
    return {
      issuer: pki,
      iut: { certificate: iutPem, privateKey: (await readIf(join(dir, PKI_FILES.key(iutId)))) ?? '' },
      iutFromDir: true,
    };
  return { issuer: pki, iut: pki.identities[iutId] as TestIdentity, iutFromDir: false };
}
