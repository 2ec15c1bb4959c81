/**
 * Reusable memory for large outgoing frames (issue 19). A record frame of `FRAME_POOL_MIN` bytes or more is sealed into
 * an ArrayBuffer taken from here instead of a fresh one, and given back once the transport no longer reads it: every
 * shipped transport copies a frame inside `send` (`Transport.copiesFrames`, SPEC 8), so the endpoint gives it back as
 * soon as `send` returns. Fresh large ArrayBuffers per message are what costs at 16 KiB: each counts as external memory
 * and the garbage collector runs for it, which a bare HMAC of the same bytes never pays.
 *
 * A pooled frame is a view from offset 0 of a buffer whose capacity is a power of two. `release` accepts only the very
 * array this pool lent and has not had back (anything else — another view of the same memory, a second release, an
 * old array whose buffer was lent again since — is ignored), so a caller cannot put foreign memory into the pool. What a buffer held past the new frame's length is zeroed when it is lent again, so no
 * view of it (`frame.buffer`) shows an earlier frame's bytes. Bounded: at most `MAX_FREE_PER_CLASS` idle buffers per
 * capacity and `MAX_FREE_BYTES` in all; frames above `MAX_POOLED` are never pooled. Frames carry no secrets: they are
 * what the broker sees.
 */

/** Frames shorter than this are allocated as before (Node's own allocation pool serves small ones cheaply). */
export const FRAME_POOL_MIN = 4096;
/** The largest frame the pool holds memory for (1 MiB, the default maxFrameSize). */
export const MAX_POOLED = 1 << 20;
const MAX_FREE_PER_CLASS = 16;
const MAX_FREE_BYTES = 1 << 20;

export class FramePool {
  /** Idle buffers by capacity. */
  private readonly free = new Map<number, ArrayBuffer[]>();
  /** Buffers lent out, with the one array that was lent over each. */
  private readonly lent = new WeakMap<ArrayBuffer, Uint8Array>();
  /** Length of the last frame an idle buffer held (what to zero beyond a shorter next one). */
  private readonly used = new WeakMap<ArrayBuffer, number>();
  private freeBytes = 0;

  /** Bytes held by idle buffers. */
  get idleBytes(): number {
    return this.freeBytes;
  }

  /** A `length`-byte array to write a frame into (contents unspecified), or undefined when it is not pooled. */
  take(length: number): Uint8Array | undefined {
    if (length < FRAME_POOL_MIN || length > MAX_POOLED) return undefined;
    const capacity = 2 ** Math.ceil(Math.log2(length));
    const buffer = this.free.get(capacity)?.pop();
    if (buffer === undefined) {
      const frame = new Uint8Array(new ArrayBuffer(capacity), 0, length); // zero-filled
      this.lent.set(frame.buffer as ArrayBuffer, frame);
      return frame;
    }
    this.freeBytes -= capacity;
    const before = this.used.get(buffer) ?? capacity;
    if (before > length) new Uint8Array(buffer, length, before - length).fill(0);
    const frame = new Uint8Array(buffer, 0, length);
    this.lent.set(buffer, frame);
    return frame;
  }

  /** Gives back a frame `take` lent (the caller will not read or write it again); anything else is ignored. */
  release(frame: Uint8Array): void {
    if (frame.byteLength < FRAME_POOL_MIN) return; // never lent: no lookup on the small-message path
    const buffer = frame.buffer;
    if (!(buffer instanceof ArrayBuffer) || this.lent.get(buffer) !== frame) return;
    this.lent.delete(buffer);
    const length = frame.byteLength;
    const capacity = buffer.byteLength;
    let list = this.free.get(capacity);
    if (list === undefined) this.free.set(capacity, (list = []));
    if (list.length >= MAX_FREE_PER_CLASS || this.freeBytes + capacity > MAX_FREE_BYTES) return; // left to the GC
    this.used.set(buffer, length);
    list.push(buffer);
    this.freeBytes += capacity;
  }
}
