/**
 * A bounded map that forgets the least recently used entry first. A Map keeps
 * insertion order, so a hit moves its key to the end (delete, then set) and the
 * first key is always the least recently used.
 */
export class Lru<K, V> {
  private readonly map = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError(`an LRU needs a positive integer capacity, got ${capacity}`);
  }

  get size(): number {
    return this.map.size;
  }

  /** The value, now the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  /** The value without changing the order. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Stores `value` as the most recently used; evicts the least recently used entries beyond the capacity. */
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K);
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** Drops every entry `drop` holds for; returns how many. One pass over the map. */
  prune(drop: (value: V, key: K) => boolean): number {
    let dropped = 0;
    for (const [key, value] of this.map) {
      if (drop(value, key)) {
        this.map.delete(key);
        dropped += 1;
      }
    }
    return dropped;
  }

  /** Least recently used first. */
  keys(): IterableIterator<K> {
    return this.map.keys();
  }
}
