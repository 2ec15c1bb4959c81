import type { TransportStatus } from './transport.js';

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
