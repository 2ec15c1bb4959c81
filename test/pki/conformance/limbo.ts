/**
 * x509-limbo harness: runs one limbo testcase through hopsafe's validator. [SPEC 10.2]
 *
 * Mapping (the same for every case):
 *   trust roots              = trusted_certs
 *   configured intermediates = untrusted_intermediates (trust.intermediates)
 *   presented chain          = [peer_certificate]
 *   now                      = validation_time (limbo's "now" when absent: the current time)
 *   claimedId                = expected_peer_name.value; when limbo gives no peer name (CLIENT cases), a
 *                              refusal ERR_CERT_NAME counts as success: the name check is the last check
 *                              (SPEC 10.2 step 6), so every other check passed
 *   eku                      = extended_key_usage mapped to OIDs when given (else hopsafe's default set)
 *   crls                     = crls; when limbo gives CRLs it asks for revocation checking, so crlMode 'require'
 *                              (without CRLs: 'if-present', the default)
 *   max_chain_depth          = not mapped (hopsafe has a fixed depth cap, SPEC 10.2)
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createTrustStore } from '../../../src/pki/index.js';
import { derObjects } from '../../../src/codec/pem.js';
import { HopsafeError } from '../../../src/errors/index.js';
import { ID_ANY_EKU, ID_KP_CLIENT_AUTH, ID_KP_SERVER_AUTH } from '../../../src/pki/oids.js';

export interface LimboCase {
  readonly id: string;
  readonly description: string;
  readonly features?: readonly string[] | null;
  readonly validation_kind: 'SERVER' | 'CLIENT';
  readonly trusted_certs: readonly string[];
  readonly untrusted_intermediates: readonly string[];
  readonly peer_certificate: string;
  readonly validation_time: string | null;
  readonly expected_result: 'SUCCESS' | 'FAILURE';
  readonly expected_peer_name: { readonly kind: string; readonly value: string } | null;
  readonly extended_key_usage: readonly string[];
  readonly crls: readonly string[] | null;
  readonly max_chain_depth: number | null;
}

export interface LimboOutcome {
  readonly id: string;
  readonly expected: 'SUCCESS' | 'FAILURE';
  readonly actual: 'SUCCESS' | 'FAILURE';
  /** Error code of the refusal ('OK' when accepted). */
  readonly code: string;
  readonly detail: string;
  readonly ms: number;
}

/** Deviation classes, as listed in limbo-deviations.json. */
export type DeviationClass = 'web-PKI policy' | 'unsupported' | 'by design';
export interface Deviation {
  readonly class: DeviationClass;
  /** The result hopsafe gives (the opposite of limbo's expectation). */
  readonly actual: 'SUCCESS' | 'FAILURE';
  /** For a refusal: its error code (a change of code needs a review too). */
  readonly code?: string;
  readonly reason: string;
}

const here = fileURLToPath(new URL('.', import.meta.url));

export function loadLimbo(): LimboCase[] {
  const data = JSON.parse(readFileSync(`${here}limbo.json`, 'utf8')) as { testcases: LimboCase[] };
  return data.testcases;
}

export function loadDeviations(): Record<string, Deviation> {
  const data = JSON.parse(readFileSync(`${here}limbo-deviations.json`, 'utf8')) as { deviations: Record<string, Deviation> };
  return data.deviations;
}

const EKU: Record<string, string> = { serverAuth: ID_KP_SERVER_AUTH, clientAuth: ID_KP_CLIENT_AUTH, anyExtendedKeyUsage: ID_ANY_EKU };

const certs = (pems: readonly string[]): Uint8Array[] => pems.flatMap((p) => derObjects(p, ['CERTIFICATE']));

export async function runLimboCase(c: LimboCase): Promise<LimboOutcome> {
  const t0 = performance.now();
  const done = (actual: 'SUCCESS' | 'FAILURE', code: string, detail: string): LimboOutcome => ({
    id: c.id,
    expected: c.expected_result,
    actual,
    code,
    detail,
    ms: performance.now() - t0,
  });
  try {
    const eku = c.extended_key_usage.length > 0 ? c.extended_key_usage.map((e) => EKU[e] ?? e) : undefined;
    const store = createTrustStore(
      { roots: certs(c.trusted_certs), intermediates: certs(c.untrusted_intermediates), crls: [...(c.crls ?? [])] },
      { ...(eku ? { eku } : {}), ...(c.crls && c.crls.length > 0 ? { crlMode: 'require' as const } : {}) },
    );
    const chain = certs([c.peer_certificate]);
    await store.verify({
      chain,
      claimedId: c.expected_peer_name?.value ?? '',
      now: c.validation_time ? new Date(c.validation_time) : new Date(),
    });
    return done('SUCCESS', 'OK', '');
  } catch (e) {
    if (!(e instanceof HopsafeError)) return done('FAILURE', 'THROWN', String(e));
    if (c.expected_peer_name === null && e.code === 'ERR_CERT_NAME') return done('SUCCESS', 'OK', 'no peer name to check');
    return done('FAILURE', e.code, e.message);
  }
}

export type Verdict = 'pass' | 'expected deviation' | 'false accept' | 'false reject' | 'stale deviation';

/** pass: as limbo expects; expected deviation: listed, with the listed result; else a failure of the job. */
export function verdict(o: LimboOutcome, dev: Deviation | undefined): Verdict {
  if (o.actual === o.expected) return dev ? 'stale deviation' : 'pass';
  if (dev && dev.actual === o.actual && (dev.code === undefined || dev.code === o.code)) return 'expected deviation';
  return o.actual === 'SUCCESS' ? 'false accept' : 'false reject';
}

export const namespaceOf = (id: string): string => id.split('::').slice(0, -1).join('::') || id;
