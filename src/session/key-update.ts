/**
 * Single-message key update (ClearToken2). [SPEC 7.2]
 * Each direction is rekeyed by its sender only, so simultaneous updates from both sides never
 * conflict. The updater combines a fresh ephemeral with the peer's latest ephemeral and the
 * previous chain secret, so new keys do not follow from old ones (fresh DH) and old keys do not
 * follow from new ones (HKDF is one-way).
 */
import { HopsafeError } from '../errors/index.js';
import { wipe } from '../bytes/index.js';
import type { CryptoProvider, KeyPair } from '../crypto/provider.js';
import { GROUP_IDS, type Suite } from '../crypto/suites.js';
import { decodeClearToken2, encodeClearToken2, TOKEN_VERSION, type ClearToken2 } from '../codec/tokens.js';
import { nextChainSecret } from './key-schedule.js';
import { updateGroup } from '../crypto/key-agreement.js';

export interface PeerKey {
  readonly epoch: number;
  readonly publicKey: Uint8Array;
}

export interface PreparedUpdate {
  readonly token: Uint8Array;
  readonly keyPair: KeyPair;
  readonly nextChainSecret: Uint8Array;
  readonly newEpoch: number;
}

/** [SPEC 7.2] Sender side. */
export function prepareKeyUpdate(
  p: CryptoProvider,
  suite: Suite,
  chainSecret: Uint8Array,
  currentEpoch: number,
  peerKey: PeerKey,
  requestUpdate: boolean,
  keyPair: KeyPair = p.kexKeyPair(updateGroup(suite.group)),
): PreparedUpdate {
  const newEpoch = currentEpoch + 1;
  // [SPEC 7.2] The update's DH group: the suite's, X25519 for the hybrid group (a KEM needs a reply; the update is one message).
  const group = updateGroup(suite.group);
  const dh = p.kexDerive(group, keyPair.privateKey, peerKey.publicKey);
  const t: ClearToken2 = {
    version: TOKEN_VERSION,
    newEpoch,
    group: GROUP_IDS[group],
    publicKey: keyPair.publicKey,
    peerKeyEpoch: peerKey.epoch,
    requestUpdate,
  };
  const token = encodeClearToken2(t);
  const next = nextChainSecret(p, suite, chainSecret, dh, token);
  wipe(dh);
  return { token, keyPair, nextChainSecret: next, newEpoch };
}

export interface AppliedUpdate {
  readonly token: ClearToken2;
  readonly nextChainSecret: Uint8Array;
}

/**
 * [SPEC 7.2] Receiver side: `token` arrived inside a verified KEY_UPDATE record.
 * `ownPrivateKey(epoch)` returns the receiver's retained ephemeral for that epoch.
 */
export function applyKeyUpdate(
  p: CryptoProvider,
  suite: Suite,
  chainSecret: Uint8Array,
  currentEpoch: number,
  tokenBytes: Uint8Array,
  ownPrivateKey: (epoch: number) => Uint8Array | undefined,
): AppliedUpdate {
  const token = decodeClearToken2(tokenBytes);
  if (token.newEpoch !== currentEpoch + 1) throw new HopsafeError('ERR_STATE', 'key update skips or repeats an epoch');
  const group = updateGroup(suite.group);
  if (token.group !== GROUP_IDS[group]) throw new HopsafeError('ERR_NEGOTIATION', 'key update uses another group');
  const priv = ownPrivateKey(token.peerKeyEpoch);
  if (!priv) throw new HopsafeError('ERR_UNKNOWN_EPOCH', 'key update refers to a retired ephemeral key');
  const dh = p.kexDerive(group, priv, token.publicKey);
  const next = nextChainSecret(p, suite, chainSecret, dh, tokenBytes);
  wipe(dh);
  return { token, nextChainSecret: next };
}
