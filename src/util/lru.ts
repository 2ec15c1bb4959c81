/** A small bounded LRU map (insertion-ordered Map; get refreshes recency). */
export class Lru<K, V> {
  readonly #max: number;
  readonly #map = new Map<K, V>();
  constructor(max: number) {
    this.#max = Math.max(1, Math.floor(max));
  }
  get size(): number {
    return this.#map.size;
  }
  get(k: K): V | undefined {
    const v = this.#map.get(k);
    if (v !== undefined) {
      this.#map.delete(k);
      this.#map.set(k, v);
    }
    return v;
  }
  peek(k: K): V | undefined {
    return this.#map.get(k);
  }
  set(k: K, v: V): void {
    this.#map.delete(k);
    this.#map.set(k, v);
    while (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next();
      if (oldest.done) break;
      this.#map.delete(oldest.value);
    }
  }
  delete(k: K): boolean {
    return this.#map.delete(k);
  }
  clear(): void {
    this.#map.clear();
  }
  entries(): IterableIterator<[K, V]> {
    return this.#map.entries();
  }
}
