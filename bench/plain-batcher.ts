/**
 * The plain baseline of the coalescing modes (issue 19): payloads without any session, batched the way the endpoint's
 * outbox batches records (it is src/endpoint/outbox.ts's Outbox, SPEC 3.7) with the endpoint's default limits (read from its options
 * schema): sent at once while fewer than `minInFlight` sends are unsettled, otherwise collected into one transport message of
 * at most `maxRecords` payloads and `maxBytes` bytes that leaves at the end of the current run (process.nextTick),
 * when full, or once a payload joins it `maxDelayUs` after its first. The container is the BATCH layout
 * (marker byte, then varint length + payload per entry); a lone payload travels as itself.
 */
import { endpointConfigSchema } from '../src/schemas/endpoint-options.js';
import { readVarint, varintLength, writeVarint } from '../src/codec/varint.js';
import { Outbox, type CoalesceLimits, type FrameSink } from '../src/endpoint/outbox.js';

/** First byte of a plain batch. Bench payloads start with a big-endian hrtime stamp, whose first byte is 0. */
export const PLAIN_BATCH_MARKER = 0xb0;

export const DEFAULT_COALESCE = endpointConfigSchema.shape.coalesce.parse(undefined);

export function encodePlainBatch(items: readonly Uint8Array[]): Uint8Array {
  let size = 1;
  for (const x of items) size += varintLength(x.length) + x.length;
  const out = new Uint8Array(size);
  out[0] = PLAIN_BATCH_MARKER;
  let off = 1;
  for (const x of items) {
    off = writeVarint(out, off, x.length);
    out.set(x, off);
    off += x.length;
  }
  return out;
}

/** The payloads in one received message (a plain batch or a lone payload). */
export function decodePlainBatch(bytes: Uint8Array): Uint8Array[] {
  if (bytes[0] !== PLAIN_BATCH_MARKER) return [bytes];
  const out: Uint8Array[] = [];
  let off = 1;
  while (off < bytes.length) {
    const v = readVarint(bytes, off);
    if (!v) throw new Error('plain batch truncated');
    const [len, n] = v;
    out.push(bytes.subarray(off + n, off + n + len));
    off += n + len;
  }
  return out;
}

/**
 * One peer's plain batcher over `sink`'s send: the endpoint's own Outbox (the same coalescing code, limits and timing),
 * with the plain container instead of a BATCH frame of records.
 */
export class PlainBatcher {
  /** Payloads that left inside a batch. */
  batched = 0;
  private readonly box: Outbox;

  constructor(sink: FrameSink, peer: string, limits: CoalesceLimits = DEFAULT_COALESCE) {
    this.box = new Outbox(
      limits,
      sink,
      peer,
      () => undefined,
      (n) => void (this.batched += n),
      undefined, // no frame pool: the plain lane's payloads are the bench's own arrays
      encodePlainBatch,
    );
  }

  push(payload: Uint8Array): Promise<void> {
    return this.box.push(payload);
  }
}
