/** Two connected in-memory Duplex streams (node:stream has no duplexPair before Node 22.6). */
import { Duplex } from 'node:stream';

class End extends Duplex {
  peer: End | undefined;
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.peer?.push(chunk);
    cb();
  }
  override _final(cb: (e?: Error | null) => void): void {
    this.peer?.push(null);
    cb();
  }
  override _read(): void {
    /* data is pushed by the peer */
  }
}

export function duplexPair(): [Duplex, Duplex] {
  const a = new End();
  const b = new End();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
