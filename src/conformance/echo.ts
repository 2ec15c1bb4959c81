/**
 * `hopsafe peer --echo`: makes the endpoint a conforming implementation under test for `hopsafe conformance` —
 * every accepted message goes back to its sender on the same session (a group message to its publisher, on the
 * pairwise session), and control messages ask for a key update, a session to another id or joining a group of
 * the sender. [SPEC Annex C.2]
 */
import type { Endpoint } from '../endpoint/endpoint.js';
import { fromBase64 } from '../bytes/index.js';
import { decodeControl } from './contract.js';

/** Echoes every message `ep` accepts; `onError` hears sends that failed (never their payloads). */
export function attachEcho(ep: Endpoint, onError: (peer: string, e: unknown) => void = () => undefined): void {
  ep.on('message', (m) => {
    // [Annex C.2] An accepted group message goes back to its publisher as an application message; it is never a
    // control message.
    if (m.group !== undefined) {
      ep.send(m.from, m.data).catch((e: unknown) => onError(m.from, e));
      return;
    }
    const c = decodeControl(m.data);
    // rekey() runs synchronously: its KEY_UPDATE is sealed before the echo, which travels under the new epoch.
    if (c?.op === 'rekey') ep.rekey(m.from).catch((e: unknown) => onError(m.from, e));
    ep.send(m.from, m.data).catch((e: unknown) => onError(m.from, e));
    // [SPEC 13.7] GROUP_CTRL join to the sender; the kit (the publisher) answers with the key.
    if (c?.op === 'join') ep.join(m.from, c.name).catch((e: unknown) => onError(m.from, e));
    if (c?.op === 'open') {
      let data: Uint8Array;
      try {
        data = fromBase64(c.data);
      } catch (e) {
        onError(c.peer, e);
        return;
      }
      ep.send(c.peer, data).catch((e: unknown) => onError(c.peer, e));
    }
  });
}

/** Resolves on SIGINT or SIGTERM (an echo peer runs until stopped, whatever its stdin does). */
export function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
