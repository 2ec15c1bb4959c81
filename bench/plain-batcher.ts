/**
 * The plain baseline of the coalescing modes (issue 19): payloads without any session, batched the way the endpoint's
 * outbox batches records (src/endpoint/outbox.ts, SPEC 3.7) with the endpoint's default limits (read from its options
 * schema): sent at once while fewer than `minInFlight` sends are unsettled, otherwise collected into one transport message of
 * at most `maxRecords` payloads and `maxBytes` bytes that leaves at the end of the current run (process.nextTick),
 * when full, or once a payload joins it `maxDelayUs` after its first. The container is the BATCH layout
 * (marker byte, then varint length + payload per entry); a lone payload travels as itself.
 */
import { endpointConfigSchema } from '../src/schemas/endpoint-options.js';
import { readVarint, varintLength, writeVarint } from '../src/codec/varint.js';

/** First byte of a plain batch. Bench payloads start with a big-endian hrtime stamp, whose first byte is 0. */
export const PLAIN_BATCH_MARKER = 0xb0;

export const DEFAULT_COALESCE = endpointConfigSchema.shape.coalesce.parse(undefined);

interface Filling {
  readonly since: number;
  readonly items: Uint8Array[];
  bytes: number;
  readonly done: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

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

/** One peer's plain batcher over `send`. */
export class PlainBatcher {
  private filling: Filling | undefined;
  private inFlight = 0;
  private scheduled = false;
  /** Payloads that left inside a batch. */
  batched = 0;

  constructor(
    private readonly send: (bytes: Uint8Array) => Promise<void>,
    private readonly limits = DEFAULT_COALESCE,
  ) {}

  push(payload: Uint8Array): Promise<void> {
    if (!this.filling && this.inFlight < this.limits.minInFlight) return this.transmit(payload);
    const entry = varintLength(payload.length) + payload.length;
    let f = this.filling;
    if (f && f.bytes + entry > this.limits.maxBytes) {
      this.flush();
      f = undefined;
    }
    if (1 + entry > this.limits.maxBytes) return this.transmit(payload);
    const now = performance.now();
    f ??= this.filling = filling(now);
    f.items.push(payload);
    f.bytes += entry;
    if (f.items.length >= this.limits.maxRecords || now - f.since >= this.limits.maxDelayUs / 1000) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(() => {
        this.scheduled = false;
        this.flush();
      });
    }
    return f.done;
  }

  private flush(): void {
    const f = this.filling;
    if (!f) return;
    this.filling = undefined;
    const [only] = f.items;
    let out: Uint8Array;
    if (f.items.length === 1 && only) out = only;
    else {
      out = encodePlainBatch(f.items);
      this.batched += f.items.length;
    }
    this.transmit(out).then(f.resolve, f.reject);
  }

  private transmit(bytes: Uint8Array): Promise<void> {
    this.inFlight++;
    const p = this.send(bytes);
    const settled = (): void => void this.inFlight--;
    p.then(settled, settled);
    return p;
  }
}

function filling(since: number): Filling {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  done.catch(() => undefined);
  return { since, items: [], bytes: 1, done, resolve, reject };
}
