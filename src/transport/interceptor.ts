/**
 * What an intermediary (the embedded broker, the memory hub) lets a test or the demo do to every
 * frame it carries. Shared by `startBroker({ adversary })`, `broker.tap()` and the memory hub. [SPEC 8.2]
 */

/** One frame as the intermediary sees it. `from`/`to` are parsed from the topic; '' when the topic is not `{prefix}/{to}/{from}`. */
export interface InterceptedFrame {
  readonly from: string;
  readonly to: string;
  readonly topic: string;
  readonly bytes: Uint8Array;
}

/**
 * Return value decides the frame's fate:
 * - `undefined` (or nothing): pass it on unchanged;
 * - a `Uint8Array`: pass these bytes on instead (same topic);
 * - an array: pass on each element in order (duplicate, inject extra frames; `[]` drops);
 * - `null`: drop it silently (the publisher still gets its PUBACK, as with a broker ACL deny).
 */
export type Interceptor = (frame: InterceptedFrame) => Uint8Array | Uint8Array[] | null | undefined | void;

/**
 * Runs `frame` through `interceptors` in order; each later interceptor sees every frame the earlier
 * ones let through (so an observer registered after an adversary sees what subscribers will get).
 * Returns the payloads to deliver, in order. An interceptor that throws leaves the frame unchanged.
 */
export function applyInterceptors(frame: InterceptedFrame, interceptors: readonly Interceptor[]): Uint8Array[] {
  let current: Uint8Array[] = [frame.bytes];
  for (const fn of interceptors) {
    const next: Uint8Array[] = [];
    for (const bytes of current) {
      let result: ReturnType<Interceptor>;
      try {
        result = fn({ from: frame.from, to: frame.to, topic: frame.topic, bytes });
      } catch {
        result = undefined;
      }
      if (result === undefined) next.push(bytes);
      else if (result === null) continue;
      else if (result instanceof Uint8Array) next.push(result);
      else for (const b of result) if (b instanceof Uint8Array) next.push(b);
    }
    current = next;
    if (current.length === 0) break;
  }
  return current;
}
