/** Shared helpers for the PKI tests. */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HopsafeError, type ErrorCode } from '../../src/errors/index.js';
import { derObjects, encodePem } from '../../src/codec/pem.js';
import { encodeName, issueCertificate, spkiOf, type CertTemplate } from '../../src/pki/issue.js';

export const DAY = 86_400_000;

export function chainOf(pem: string): Uint8Array[] {
  return derObjects(pem, ['CERTIFICATE']);
}

/** Asserts that `p` rejects with a HopsafeError carrying exactly `code`. */
export async function rejectsWith(p: Promise<unknown>, code: ErrorCode, label = ''): Promise<HopsafeError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(
    caught instanceof HopsafeError,
    `${label}: expected HopsafeError ${code}, got ${caught === undefined ? 'success' : String(caught)}`,
  );
  assert.equal(caught.code, code, `${label}: ${caught.message}`);
  return caught;
}

export function throwsWith(fn: () => unknown, code: ErrorCode, label = ''): void {
  assert.throws(fn, (e: unknown) => e instanceof HopsafeError && e.code === code, label);
}

export function ecKey(curve: 'prime256v1' | 'secp384r1' = 'prime256v1'): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: curve }).privateKey;
}

export interface MiniCa {
  readonly name: Uint8Array;
  readonly key: KeyObject;
  readonly der: Uint8Array;
  readonly spki: Uint8Array;
}

/** A hand-made CA for cases createTestPki does not cover (path length, root-issued CRLs, …). */
export function miniCa(
  cn: string,
  now: Date,
  opts: { issuer?: MiniCa; pathLen?: number; notAfter?: Date; extra?: Partial<CertTemplate> } = {},
): MiniCa {
  const key = ecKey();
  const name = encodeName(cn, 'hopsafe unit');
  const spki = spkiOf(key);
  const der = issueCertificate(
    {
      subject: name,
      issuer: opts.issuer?.name ?? name,
      notBefore: new Date(now.getTime() - DAY),
      notAfter: opts.notAfter ?? new Date(now.getTime() + 365 * DAY),
      publicKey: spki,
      ca: true,
      ...(opts.pathLen !== undefined ? { pathLen: opts.pathLen } : {}),
      ...(opts.issuer ? { issuerSpki: opts.issuer.spki } : {}),
      ...opts.extra,
    },
    { key: opts.issuer?.key ?? key },
  );
  return { name, key, der, spki };
}

export function miniLeaf(
  id: string,
  ca: MiniCa,
  now: Date,
  extra: Partial<CertTemplate> = {},
  key: KeyObject = ecKey(),
): { der: Uint8Array; key: KeyObject } {
  const der = issueCertificate(
    {
      subject: encodeName(id, 'hopsafe unit'),
      issuer: ca.name,
      notBefore: new Date(now.getTime() - DAY),
      notAfter: new Date(now.getTime() + 30 * DAY),
      publicKey: key,
      keyUsage: ['digitalSignature'],
      issuerSpki: ca.spki,
      ...extra,
    },
    { key: ca.key },
  );
  return { der, key };
}

/** `openssl verify` of `leaf` against `roots` (and `untrusted` intermediates, optional CRLs), or undefined without openssl. */
export function opensslVerify(
  leaf: Uint8Array,
  roots: readonly Uint8Array[],
  opts: { untrusted?: readonly Uint8Array[]; crls?: readonly Uint8Array[]; args?: readonly string[] } = {},
): { ok: boolean; out: string } | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'hopsafe-ossl-verify-'));
  try {
    const file = (name: string, label: string, ders: readonly Uint8Array[]): string => {
      const p = join(dir, name);
      writeFileSync(p, ders.map((d) => encodePem(label, d)).join(''));
      return p;
    };
    const args = ['verify', '-CAfile', file('roots.pem', 'CERTIFICATE', roots)];
    if (opts.untrusted && opts.untrusted.length > 0) args.push('-untrusted', file('untrusted.pem', 'CERTIFICATE', opts.untrusted));
    if (opts.crls && opts.crls.length > 0) args.push('-crl_check', '-CRLfile', file('crls.pem', 'X509 CRL', opts.crls));
    args.push(...(opts.args ?? []), file('leaf.pem', 'CERTIFICATE', [leaf]));
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
