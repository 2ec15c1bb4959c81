/**
 * The send lifecycle every binding shares [SPEC 8]: the guards `send` applies, in one order, so that the same misuse
 * gives the same error code on every transport (an oversized frame on a closed transport is ERR_CLOSED everywhere);
 * the bound on frames waiting while disconnected; and the rejection of every pending send on close.
 */
import { HopsafeError } from '../errors/index.js';
import { assertEndpointId } from './endpoint-id.js';

export interface SendGuardState {
  /** Binding name for messages ("mqtt", "amqp", …). */
  readonly name: string;
  readonly closed: boolean;
  /** The id `open()` was called with; undefined before. */
  readonly localId: string | undefined;
  readonly maxFrameSize: number;
}

/**
 * [SPEC 8.10] `send`'s guards, in this order: closed (ERR_CLOSED), not opened (ERR_STATE), the peer id (ERR_INVALID_ID,
 * [SPEC 8.1]), the frame's type (ERR_INPUT), its size (ERR_PAYLOAD_TOO_LARGE). Throws (bindings turn it into a rejection); returns the local id.
 */
export function assertSendable(
  s: SendGuardState,
  peerId: string,
  bytes: Uint8Array,
  checkId: (id: string, label: string) => void = assertEndpointId,
): string {
  if (s.closed) throw new HopsafeError('ERR_CLOSED', `${s.name} transport is closed`);
  if (s.localId === undefined) throw new HopsafeError('ERR_STATE', `${s.name} transport: call open() before send()`);
  checkId(peerId, 'peerId');
  if (!(bytes instanceof Uint8Array)) throw new HopsafeError('ERR_INPUT', 'frame must be a Uint8Array');
  if (bytes.byteLength > s.maxFrameSize)
    throw new HopsafeError('ERR_PAYLOAD_TOO_LARGE', `${s.name}: frame of ${bytes.byteLength} bytes exceeds maxFrameSize ${s.maxFrameSize}`);
  return s.localId;
}

/** [SPEC 8.10] Frames wait while disconnected up to `maxQueue`; past it `send` refuses with ERR_QUEUE_FULL. */
export function assertQueueRoom(name: string, queued: number, maxQueue: number): void {
  if (queued >= maxQueue)
    throw new HopsafeError('ERR_QUEUE_FULL', `${name}: ${queued} frames already queued while disconnected (maxQueue ${maxQueue})`);
}

/** Sends not yet settled: `close()` rejects every one of them with ERR_CLOSED. */
export class PendingSends {
  readonly #rejects = new Set<(e: HopsafeError) => void>();

  get size(): number {
    return this.#rejects.size;
  }

  /** Tracks one send (or open) until `delete` is called with the same function once it settled. */
  add(reject: (e: HopsafeError) => void): void {
    this.#rejects.add(reject);
  }

  delete(reject: (e: HopsafeError) => void): void {
    this.#rejects.delete(reject);
  }

  rejectAll(name: string, why = 'transport closed before the frame was acknowledged'): void {
    const all = [...this.#rejects];
    this.#rejects.clear();
    for (const reject of all) reject(new HopsafeError('ERR_CLOSED', `${name}: ${why}`));
  }
}
