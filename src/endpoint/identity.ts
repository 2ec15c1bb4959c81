/** Loads the endpoint's own identity and trust store through the PKI layer. */
import type { CryptoProvider } from '../crypto/provider.js';
import type { LocalIdentity, PeerVerifier, TrustConfig } from '../pki/types.js';
import { createTrustStore, loadIdentity, loadSignerIdentity, validateOwn, type TrustWarning } from '../pki/index.js';
import type { EndpointConfig } from '../schemas/endpoint-options.js';

export interface TrustHandle {
  readonly verifier: PeerVerifier;
  update(trust: Partial<TrustConfig>): Promise<void>;
  onRevoked(listener: (fingerprints: readonly string[]) => void): void;
  /** [SPEC 10.5] A peer passed although a CRL naming an issuer on its path could not be validated. */
  onWarning(listener: (warning: TrustWarning) => void): void;
}

/**
 * Parses the identity (ERR_MALFORMED, ERR_KEY_MISMATCH, ERR_CERT_NAME) and validates it against our
 * own trust anchors, so a misconfigured endpoint fails at start-up with the code a peer would report.
 */
export async function openIdentity(
  cfg: EndpointConfig,
  provider: CryptoProvider,
  clock: () => number,
): Promise<{ identity: LocalIdentity; trust: TrustHandle }> {
  const store = createTrustStore(cfg.trust, { clock: () => new Date(clock()), provider, ...(cfg.crlMode ? { crlMode: cfg.crlMode } : {}) });
  const { attributeCertificates, certificate } = cfg.identity;
  const opts = { provider, ...(attributeCertificates ? { attributeCertificates } : {}) };
  // [SPEC 10.6] A key held outside this program (`signer`), or a private key given to the provider.
  const identity =
    'signer' in cfg.identity
      ? await loadSignerIdentity({ certificate, signer: cfg.identity.signer }, cfg.id, opts)
      : loadIdentity({ certificate, privateKey: cfg.identity.privateKey }, cfg.id, opts);
  await validateOwn(identity, store, new Date(clock()));
  return {
    identity,
    trust: {
      verifier: store,
      update: async (t) => {
        store.updateTrust(t);
      },
      onRevoked: (l) => {
        store.onRevoked(l);
      },
      onWarning: (l) => {
        store.onWarning(l);
      },
    },
  };
}
