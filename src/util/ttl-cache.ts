// A bounded map with per-entry expiry, evicting the least recently used entry when full.
// Map keeps insertion order, so re-inserting on read makes the first key the LRU one.
// A read re-inserts only an entry that is not already among the newer half of the map: moving
// an entry costs a delete and a set (~0.6 us), and the hottest entries (a memoized pod template
// read thousands of times a second) would pay it on every read for no change in what is evicted.
// The clock counts insertions and moves; an entry with fewer than half the capacity of them
// since its own has fewer than that many entries after it, so it is not near the front.

interface Entry<V> {
  value: V;
  expires: number;
  /** The clock when the entry was inserted or last moved to the back. */
  placed: number;
}

export class TtlCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();
  private clock = 0;
  private readonly refreshAfter: number;
  hits = 0;
  misses = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {
    this.refreshAfter = Math.max(1, Math.floor(maxEntries / 2));
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const e = this.entries.get(key);
    if (!e || e.expires <= this.now()) {
      if (e) this.entries.delete(key);
      this.misses++;
      return undefined;
    }
    if (this.clock - e.placed >= this.refreshAfter) {
      this.entries.delete(key);
      this.entries.set(key, e);
      e.placed = ++this.clock;
    }
    this.hits++;
    return e.value;
  }

  set(key: K, value: V, ttlMs: number): void {
    this.entries.delete(key);
    if (ttlMs <= 0) return;
    this.entries.set(key, { value, expires: this.now() + ttlMs, placed: ++this.clock });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as K;
      this.entries.delete(oldest);
    }
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
