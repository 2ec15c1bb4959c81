/**
 * Handshake freshness: timestamp window and a bounded cache of ClearToken1 randoms. [SPEC 5.6]
 * Entries are added only after the token's signature verified, so unauthenticated input cannot
 * evict them; when the cache is full of unexpired entries new handshakes are refused
 * (ERR_HANDSHAKE_LIMIT) rather than forgetting a random that could then be replayed.
 */
import { HopsafeError } from '../errors/index.js';
import { toHex } from '../bytes/index.js';

export class HandshakeReplayCache {
  private readonly entries = new Map<string, number>();
  /**
   * @param since [SPEC 5.6] the time from which this cache has seen every accepted random (its creation, by
   *   default `now` at construction): a token stamped before it may have been accepted by an earlier process
   *   (before a restart) and is refused, since the cache cannot tell.
   */
  constructor(
    readonly windowMs: number,
    readonly maxEntries = 100_000,
    readonly since = -Infinity,
  ) {}

  /** [SPEC 5.6] ERR_STALE outside ±window, or stamped before the cache's coverage began (restart). */
  checkTimestamp(timestamp: number, now: number): void {
    if (Math.abs(now - timestamp) > this.windowMs) throw new HopsafeError('ERR_STALE', 'handshake timestamp outside the freshness window');
    if (timestamp < this.since) throw new HopsafeError('ERR_STALE', 'handshake stamped before this responder started');
  }

  /** [SPEC 5.6] ERR_REPLAY when the random was already accepted inside the window. */
  checkRandom(random: Uint8Array, now: number): void {
    const exp = this.entries.get(toHex(random));
    if (exp !== undefined && exp >= now) throw new HopsafeError('ERR_REPLAY', 'handshake replayed');
  }

  add(random: Uint8Array, timestamp: number, now: number): void {
    this.purge(now);
    if (this.entries.size >= this.maxEntries) throw new HopsafeError('ERR_HANDSHAKE_LIMIT', 'too many recent handshakes');
    // The token stays acceptable until timestamp + window; remember it at least that long.
    this.entries.set(toHex(random), Math.max(timestamp, now) + this.windowMs);
  }

  get size(): number {
    return this.entries.size;
  }

  private purge(now: number): void {
    for (const [k, exp] of this.entries) {
      if (exp < now) this.entries.delete(k);
      else if (this.entries.size < this.maxEntries) break; // mostly insertion-ordered: stop early unless full
    }
  }
}
