/**
 * What an endpoint spends on input it has not authenticated yet, shared by all its peers and bounded in count and
 * time: handshake verifications (SPEC 5.7), and the unauthenticated HS_ALERT hints it sends (SPEC 3.6). Sans-I/O:
 * every decision takes `now`. Nothing here is created for a sender whose frame failed the cheap checks, except
 * entries of fixed-size LRU maps, so a flood of forged ids costs a bounded amount of memory.
 */
import { sha256Hex } from '../pki/x509.js';
import type { PublicKeyHandle } from '../crypto/provider.js';
import { Lru } from '../util/lru.js';
import { TokenBucket } from './rate-limit.js';

export interface AdmissionLimits {
  /** [SPEC 5.7] Handshake verifications per second, all senders together (after the cheap checks). */
  readonly handshakesPerSecond: number;
  /** [SPEC 5.7] The same per sender id, burst 4. */
  readonly handshakesPerSecondPerPeer: number;
  /** [SPEC 5.7] Verifications under way at once. */
  readonly maxConcurrentHandshakes: number;
  /**
   * [SPEC 5.7] Signature checks per second, all senders together, of HS_INITs that carry the certificate a sender
   * authenticated with before (checked at arrival against the key remembered from that session).
   */
  readonly knownPeerChecksPerSecond: number;
}

/** A peer that authenticated before: the leaf it presented and its key (only filled after a verified handshake). */
export interface KnownPeer {
  /** SHA-256 of the leaf's DER, hex (what VerifiedPeer.fingerprint holds): 64 characters instead of a copy of the leaf. */
  readonly fingerprint: string;
  readonly publicKey: PublicKeyHandle;
}

/** Per-sender state kept for senders that have no table entry (forged or not): a fixed number at most. */
const SENDER_BUCKETS = 4096;
const KNOWN_PEERS = 100_000;
/** [SPEC 5.7] HS_INIT frames one sender may have queued or under verification. */
export const MAX_INITS_PER_PEER = 4;

export class HandshakeAdmission {
  private readonly global: TokenBucket;
  private readonly knownChecks: TokenBucket;
  private readonly perSender = new Lru<string, TokenBucket>(SENDER_BUCKETS);
  private readonly known = new Lru<string, KnownPeer>(KNOWN_PEERS);
  private inFlight = 0;

  constructor(
    private readonly limits: AdmissionLimits,
    now: number,
  ) {
    this.global = new TokenBucket(limits.handshakesPerSecond, Math.max(1, limits.handshakesPerSecond), now);
    this.knownChecks = new TokenBucket(limits.knownPeerChecksPerSecond, Math.max(1, limits.knownPeerChecksPerSecond), now);
  }

  /**
   * [SPEC 5.7] A verification slot for a prechecked HS_INIT from `sender`, or undefined (ERR_HANDSHAKE_LIMIT).
   * `authenticated`: its signature already checked out against the sender's known key, so it takes no token.
   */
  admit(sender: string, now: number, authenticated: boolean): (() => void) | undefined {
    if (this.inFlight >= this.limits.maxConcurrentHandshakes) return undefined;
    if (!authenticated) {
      let b = this.perSender.get(sender);
      if (!b) {
        b = new TokenBucket(this.limits.handshakesPerSecondPerPeer, MAX_INITS_PER_PEER, now);
        this.perSender.set(sender, b);
      }
      if (!b.take(now) || !this.global.take(now)) return undefined;
    }
    this.inFlight++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight--;
    };
  }

  /** The key `sender` authenticated with before, when it presents the same leaf again and a check is affordable. */
  knownKey(sender: string, leaf: Uint8Array | undefined, now: number): PublicKeyHandle | undefined {
    const k = this.known.peek(sender);
    if (!k || !leaf || sha256Hex(leaf) !== k.fingerprint) return undefined;
    return this.knownChecks.take(now) ? k.publicKey : undefined;
  }

  /** Remembers a sender that completed a verified handshake. */
  remember(sender: string, peer: KnownPeer): void {
    this.known.set(sender, { fingerprint: peer.fingerprint, publicKey: peer.publicKey });
  }

  get verifying(): number {
    return this.inFlight;
  }
}

export interface AlertLimits {
  /** [SPEC 3.6] Unauthenticated alerts per second, all peers together. */
  readonly perSecond: number;
}

/**
 * [SPEC 3.6] At most one HS_ALERT per (peer, session id, code) per second, and a global rate: a spoofer who makes
 * us answer its forged frames cannot use up the hint a genuine peer is owed for its own session.
 */
export class AlertLimiter {
  private readonly global: TokenBucket;
  private readonly last = new Lru<string, number>(SENDER_BUCKETS);

  constructor(limits: AlertLimits, now: number) {
    this.global = new TokenBucket(limits.perSecond, Math.max(1, limits.perSecond), now);
  }

  allow(peer: string, sessionIdHex: string, code: string, now: number): boolean {
    const key = `${peer}\u0000${sessionIdHex}\u0000${code}`;
    const t = this.last.peek(key);
    if (t !== undefined && now - t < 1000 && now >= t) return false;
    if (!this.global.take(now)) return false;
    this.last.set(key, now);
    return true;
  }
}
