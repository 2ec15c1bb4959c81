import type { Logger } from 'pino';
import type { TransportStatus } from './transport.js';

/** Logs a status change: losing the connection at warn, the rest at debug (the logger is the binding's). */
export function logStatus(log: Logger | undefined, s: TransportStatus, localId: string | undefined): void {
  if (!log) return;
  if (s === 'reconnecting' || s === 'disconnected') log.warn({ status: s, localId }, 'connection lost');
  else log.debug({ status: s, localId }, 'status');
}

/** Tracks a transport's status and notifies `onStatus` listeners on each change; a listener's error is its own. */
export class StatusEmitter {
  #status: TransportStatus;
  readonly #listeners = new Set<(s: TransportStatus) => void>();

  constructor(initial: TransportStatus = 'disconnected') {
    this.#status = initial;
  }

  get current(): TransportStatus {
    return this.#status;
  }

  on(listener: (s: TransportStatus) => void): void {
    this.#listeners.add(listener);
  }

  /** Returns false (and notifies nobody) when `s` is already the status. */
  set(s: TransportStatus): boolean {
    if (this.#status === s) return false;
    this.#status = s;
    for (const l of this.#listeners) {
      try {
        l(s);
      } catch {
        /* a listener's error is its own */
      }
    }
    return true;
  }
}
