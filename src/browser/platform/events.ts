/**
 * The browser bundle's stand-in for `node:events` (what src/endpoint/events.ts uses of EventEmitter: on, once, off,
 * removeAllListeners, listenerCount, emit — with Node's rule that an unhandled 'error' event throws). The bundler
 * maps `node:events` here (scripts/build-browser.mjs); Node never loads this module.
 */
type Fn = (...args: unknown[]) => void;

export class EventEmitter {
  readonly #listeners = new Map<string | symbol, Fn[]>();

  on(event: string | symbol, fn: Fn): this {
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), fn]);
    return this;
  }
  addListener(event: string | symbol, fn: Fn): this {
    return this.on(event, fn);
  }
  once(event: string | symbol, fn: Fn): this {
    const wrapped: Fn & { listener?: Fn } = (...args) => {
      this.off(event, wrapped);
      fn(...args);
    };
    wrapped.listener = fn;
    return this.on(event, wrapped);
  }
  off(event: string | symbol, fn: Fn): this {
    const list = this.#listeners.get(event);
    if (!list) return this;
    let i = list.length - 1;
    while (i >= 0 && list[i] !== fn && (list[i] as { listener?: Fn }).listener !== fn) i--;
    if (i >= 0) {
      const next = list.slice();
      next.splice(i, 1);
      if (next.length === 0) this.#listeners.delete(event);
      else this.#listeners.set(event, next);
    }
    return this;
  }
  removeListener(event: string | symbol, fn: Fn): this {
    return this.off(event, fn);
  }
  removeAllListeners(event?: string | symbol): this {
    if (event === undefined) this.#listeners.clear();
    else this.#listeners.delete(event);
    return this;
  }
  listenerCount(event: string | symbol): number {
    return this.#listeners.get(event)?.length ?? 0;
  }
  emit(event: string | symbol, ...args: unknown[]): boolean {
    const list = this.#listeners.get(event);
    if (!list || list.length === 0) {
      if (event === 'error') throw args[0] instanceof Error ? args[0] : new Error(`unhandled 'error' event: ${String(args[0])}`);
      return false;
    }
    for (const fn of list) fn(...args);
    return true;
  }
}
