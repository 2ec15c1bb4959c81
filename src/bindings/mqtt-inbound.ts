/**
 * [SPEC 8.2, 8.9] One inbound MQTT publish, for the inbox and for group topics alike: larger than maxFrameSize, it is
 * dropped (and PUBACKed, so the broker does not send it again) before any copy or view of it; otherwise it is handed
 * to `handler` as bytes, and past maxUnsettledFrames pending calls its PUBACK (`done`) — and with it the next packet —
 * waits until one settles.
 */
import type { IPublishPacket } from 'mqtt';
import type { InboundGuard, UnsettledBound } from '../transport/inbound.js';

export function deliverPublish(
  payload: IPublishPacket['payload'],
  from: string | undefined,
  guard: InboundGuard,
  bound: UnsettledBound | undefined,
  handler: (bytes: Uint8Array) => void | Promise<void>,
  onRejected: (e: unknown, size: number) => void,
  done: () => void,
): void {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (guard.oversize(size, from)) {
    done();
    return;
  }
  const bytes =
    typeof payload === 'string'
      ? new TextEncoder().encode(payload)
      : new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
  let result: void | Promise<void>;
  try {
    result = handler(bytes);
  } catch (e) {
    result = Promise.reject(e);
  }
  // A handler that returned (no promise) is settled: PUBACK now, nothing counted against the bound, no promise
  // allocated per frame (the group frame handlers are synchronous).
  if (typeof (result as { then?: unknown } | undefined)?.then !== 'function') {
    done();
    return;
  }
  const settled = Promise.resolve(result).catch((e: unknown) => onRejected(e, size));
  if (bound === undefined || bound.admit(settled, done)) done();
}
