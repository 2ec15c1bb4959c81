/**
 * [SPEC 8.2, 8.3, 8.4] Turns off Nagle's algorithm on a client's socket when it has one: small frames
 * (end-to-end ACK records, PUBACKs, the last stanza of a burst) would otherwise wait for the peer's delayed TCP
 * acknowledgement (tens of ms) and stall a stream in both directions.
 */
export function setNoDelay(stream: unknown): void {
  if (stream && typeof (stream as { setNoDelay?: unknown }).setNoDelay === 'function')
    (stream as { setNoDelay(v: boolean): void }).setNoDelay(true);
}
