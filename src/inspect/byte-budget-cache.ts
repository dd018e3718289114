// A least-recently-used map bounded by the memory its values hold (estimated by the caller),
// not by their number: one layer index of a big base image can weigh as much as hundreds of
// small ones. A value larger than the whole budget is not kept at all.

export class ByteBudgetCache<K, V> {
  readonly #entries = new Map<K, { value: V; bytes: number }>();
  #bytes = 0;
  hits = 0;
  misses = 0;
  evictions = 0;

  constructor(
    private readonly budget: number,
    private readonly sizeOf: (value: V) => number,
  ) {}

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  has(key: K): boolean {
    return this.#entries.has(key);
  }

  get(key: K): V | undefined {
    const e = this.#entries.get(key);
    if (!e) {
      this.misses++;
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, e);
    this.hits++;
    return e.value;
  }

  set(key: K, value: V): boolean {
    this.delete(key);
    const bytes = Math.max(1, Math.ceil(this.sizeOf(value)));
    if (bytes > this.budget) return false;
    while (this.#bytes + bytes > this.budget) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
      this.evictions++;
    }
    this.#entries.set(key, { value, bytes });
    this.#bytes += bytes;
    return true;
  }

  delete(key: K): void {
    const e = this.#entries.get(key);
    if (!e) return;
    this.#entries.delete(key);
    this.#bytes -= e.bytes;
  }
}
