// Concurrent calls for the same key share one in-flight promise (Go's x/sync/singleflight):
// a hundred reviews of a new image make one registry request.

export class SingleFlight<K, V> {
  private readonly inflight = new Map<K, Promise<V>>();

  get size(): number {
    return this.inflight.size;
  }

  do(key: K, fn: () => Promise<V>): Promise<V> {
    const existing = this.inflight.get(key);
    if (existing) return existing;
    const p = (async () => {
      try {
        return await fn();
      } finally {
        this.inflight.delete(key);
      }
    })();
    this.inflight.set(key, p);
    return p;
  }
}
