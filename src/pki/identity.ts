/**
 * Loading our own identity: certificate chain (leaf first) + PKCS#8 private key, checked
 * for consistency before any session uses it. [SPEC 10.6]
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { HopsafeError } from '../errors/index.js';
import { screenPkcs8 } from '../crypto/key-der.js';
import { equal } from '../bytes/index.js';
import { derObjects } from '../codec/pem.js';
import { createNodeProvider } from '../crypto/node.js';
import type { AsyncSigner, CryptoProvider, PrivateKeyHandle, PublicKeyHandle } from '../crypto/provider.js';
import { SIGNATURE_IDS } from '../crypto/suites.js';
import { signWith } from '../crypto/signer.js';
import type { LocalIdentity, PemOrDer, PeerVerifier, VerifiedPeer } from './types.js';
import { parseCertificate } from './x509.js';
import { parseAttributeCertificate } from './attribute-cert.js';
import { decodeRoleInformation, type DecodedRole } from './roles.js';
import { namesEndpoint } from './names.js';
import { refuse } from './refusal.js';
import { privateKeyPkcs8 } from './private-key.js';

/** Options of `loadIdentity` and `validateOwn`. */
export interface LoadIdentityOptions {
  /** RFC 5755 attribute certificates (PEM "ATTRIBUTE CERTIFICATE" or DER) to present in the ClearToken. */
  readonly attributeCertificates?: readonly PemOrDer[];
  /** Provider the private key is imported into (and the chain checked with). Default: node:crypto. */
  readonly provider?: CryptoProvider;
}

/**
 * [SPEC 4.4] Reads a private key (PKCS#8 PEM or DER, or a SEC1 `EC PRIVATE KEY` PEM) into a node:crypto KeyObject,
 * after the same strict screening the providers apply. ERR_UNSUPPORTED for another key format or algorithm (the
 * message names the `openssl pkcs8 -topk8 -nocrypt` conversion), ERR_MALFORMED for a key that is not valid. Used to
 * load CA keys for issuing certificates and CRLs; endpoints take their key through `identity.privateKey` instead.
 */
export function loadPrivateKey(input: PemOrDer): KeyObject {
  const der = privateKeyPkcs8(input);
  try {
    screenPkcs8(der); // shared strict screening before node:crypto sees the key
  } catch (e) {
    if (e instanceof HopsafeError && e.code === 'ERR_UNSUPPORTED') throw e;
    throw new HopsafeError('ERR_MALFORMED', `private key: ${(e as Error).message}`, { cause: e });
  }
  try {
    return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  } catch (e) {
    throw new HopsafeError('ERR_MALFORMED', 'private key is not valid PKCS#8', { cause: e });
  }
}

/**
 * Parses and checks an identity: the chain parses (ERR_MALFORMED), the private key is PKCS#8 and
 * matches the leaf's public key (ERR_KEY_MISMATCH), the leaf names `id` (ERR_CERT_NAME).
 * Roles: the leaf's RoleInformation extension plus those of the attribute certificates (all
 * assignments, with their validity; the peer filters by time).
 */
export function loadIdentity(
  input: { certificate: PemOrDer; privateKey: PemOrDer },
  id: string,
  opts: LoadIdentityOptions = {},
): LocalIdentity {
  const provider = opts.provider ?? createNodeProvider();
  const { chain, leaf } = parseChain(input);
  // One import of the private key (screened by the provider, SPEC 4.4): OpenSSL 3's PKCS#8 decoder and key
  // encoders are slow, and an endpoint host may load thousands of identities (one per simulated peer).
  const keyDer = privateKeyPkcs8(input.privateKey); // [SPEC 4.4] PKCS#8 or SEC1 EC
  let privateKey: ReturnType<CryptoProvider['importPrivateKey']>;
  try {
    privateKey = provider.importPrivateKey(keyDer);
  } catch (e) {
    if (e instanceof HopsafeError && e.code === 'ERR_UNSUPPORTED') throw e;
    throw new HopsafeError('ERR_MALFORMED', `private key: ${(e as Error).message}`, { cause: e });
  }
  if (!leaf.publicKey) throw refuse('key-type', `"${leaf.subjectText}": ${leaf.keyUnsupported ?? 'unsupported key'}`);
  // [SPEC 10.6] The key must be the leaf's: proven by a signature the leaf's public key verifies (any key type, any provider).
  if (!keyMatches(provider, privateKey, leaf.spki))
    throw refuse('key-mismatch', `private key does not match certificate "${leaf.subjectText}"`);
  return finishIdentity(id, chain, leaf, privateKey, undefined, opts);
}

/**
 * [SPEC 10.6] `loadIdentity` for a key held outside this program (a non-extractable WebCrypto key, an HSM): the
 * chain and name are checked the same way, and the key is proven to be the leaf's by one signature of `signer`
 * that the leaf's public key verifies (ERR_KEY_MISMATCH otherwise, also for a signer of another algorithm).
 */
export async function loadSignerIdentity(
  input: { certificate: PemOrDer; signer: AsyncSigner },
  id: string,
  opts: LoadIdentityOptions = {},
): Promise<LocalIdentity> {
  const provider = opts.provider ?? createNodeProvider();
  const { chain, leaf } = parseChain(input);
  const signer = input.signer;
  if (!signer || typeof signer.sign !== 'function' || !(signer.signatureAlg in SIGNATURE_IDS))
    throw new HopsafeError('ERR_CONFIG', 'identity.signer must have a signatureAlg (SPEC 4.3) and a sign(data) method');
  if (!leaf.publicKey) throw refuse('key-type', `"${leaf.subjectText}": ${leaf.keyUnsupported ?? 'unsupported key'}`);
  const mismatch = () => refuse('key-mismatch', `identity.signer does not hold the key of certificate "${leaf.subjectText}"`);
  let publicKey: PublicKeyHandle;
  try {
    publicKey = provider.importPublicKey(leaf.spki);
  } catch {
    throw mismatch();
  }
  if (publicKey.signatureAlg !== signer.signatureAlg) throw mismatch();
  const sig = await signWith(signer, KEY_CHECK);
  if (!provider.verify(publicKey, KEY_CHECK, sig)) throw mismatch();
  // A handle of no provider: it names the algorithm (SPEC 5.3's signatureAlgorithm) and cannot sign synchronously.
  const privateKey: PrivateKeyHandle = Object.freeze({ kind: 'private', provider: 'signer', signatureAlg: signer.signatureAlg });
  return finishIdentity(id, chain, leaf, privateKey, signer, opts);
}

function parseChain(input: { certificate: PemOrDer }): { chain: Uint8Array[]; leaf: ReturnType<typeof parseCertificate> } {
  if (!input || (typeof input.certificate !== 'string' && !(input.certificate instanceof Uint8Array)))
    throw new HopsafeError('ERR_CONFIG', 'identity.certificate must be PEM text or DER bytes');
  const chain = derObjects(input.certificate, ['CERTIFICATE'], 'identity certificate');
  const parsed = chain.map((c) => parseCertificate(c));
  const leaf = parsed[0];
  if (!leaf) throw new HopsafeError('ERR_MALFORMED', 'identity certificate chain is empty');
  return { chain, leaf };
}

function finishIdentity(
  id: string,
  chain: Uint8Array[],
  leaf: ReturnType<typeof parseCertificate>,
  privateKey: PrivateKeyHandle,
  signer: AsyncSigner | undefined,
  opts: LoadIdentityOptions,
): LocalIdentity {
  if (!namesEndpoint(leaf, id)) throw refuse('name', `certificate "${leaf.subjectText}" does not name endpoint ${JSON.stringify(id)}`);
  const acs: Uint8Array[] = [];
  for (const a of opts.attributeCertificates ?? []) acs.push(...derObjects(a, ['ATTRIBUTE CERTIFICATE'], 'attribute certificate'));
  const roles: DecodedRole[] = leaf.roleInfo ? decodeRoleInformation(leaf.roleInfo, leaf) : [];
  for (const der of acs) {
    const ac = parseAttributeCertificate(der);
    if (ac.holderSerialHex === leaf.serialHex && ac.holderIssuers.some((n) => equal(n, leaf.issuer)))
      for (const ri of ac.roleInfos) roles.push(...decodeRoleInformation(ri, ac));
  }
  return { id, chain, privateKey, ...(signer ? { signer } : {}), attributeCertificates: acs, roles };
}

const KEY_CHECK = new TextEncoder().encode('hopsafe/1 identity key check');

function keyMatches(provider: CryptoProvider, key: ReturnType<CryptoProvider['importPrivateKey']>, spki: Uint8Array): boolean {
  try {
    return provider.verify(provider.importPublicKey(spki), KEY_CHECK, provider.sign(key, KEY_CHECK));
  } catch {
    return false; // e.g. an Ed25519 signature offered to a P-256 key
  }
}

/**
 * Validates our own chain against `verifier` at `now` (default: current time), so a misconfigured
 * endpoint fails at start-up with the same code a peer would report (ERR_CERT_EXPIRED, …).
 */
export function validateOwn(identity: LocalIdentity, verifier: PeerVerifier, now: Date = new Date()): Promise<VerifiedPeer> {
  return verifier.verify({ chain: identity.chain, attributeCertificates: identity.attributeCertificates, claimedId: identity.id, now });
}
