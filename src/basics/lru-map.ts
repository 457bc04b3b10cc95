/**
 * A map that holds at most `capacity` (entries, or whatever `weigh` counts: bytes), dropping the
 * least recently used: a cache of values that can be computed again. A Map iterates in insertion
 * order, so a read moves its entry to the end and the first entry is always the one to drop.
 */
export class LruMap<K, V> {
  private readonly map = new Map<K, V>();
  private weight = 0;

  constructor(
    private readonly capacity: number,
    private readonly weigh: (value: V) => number = () => 1,
  ) {
    if (!(capacity >= 1)) throw new RangeError(`an LruMap holds at least 1, not ${capacity}`);
  }

  get size(): number {
    return this.map.size;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    const old = this.map.get(key);
    if (old !== undefined) {
      this.map.delete(key);
      this.weight -= this.weigh(old);
    }
    this.map.set(key, value);
    this.weight += this.weigh(value);
    // The newest entry stays even if it alone is over the capacity.
    while (this.weight > this.capacity && this.map.size > 1) {
      const [oldestKey, oldest] = this.map.entries().next().value as [K, V];
      this.map.delete(oldestKey);
      this.weight -= this.weigh(oldest);
    }
  }
}
