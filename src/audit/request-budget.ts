// Issue 13: at most `perMinute` registry requests from the audit, whatever the number of images:
// a token bucket holding ten seconds' worth (at least one), refilled continuously. The audit is
// background work: it waits for tokens instead of competing with admission and the nodes.
export class RequestBudget {
  readonly #perMs: number;
  readonly #capacity: number;
  #tokens: number;
  #at: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(perMinute: number, opts: { now?: () => number; sleep?: (ms: number, signal?: AbortSignal) => Promise<void> } = {}) {
    if (!(perMinute > 0)) throw new RangeError('requests per minute must be positive');
    this.#perMs = perMinute / 60_000;
    this.#capacity = Math.max(1, Math.floor(perMinute / 6));
    this.#tokens = this.#capacity;
    this.#now = opts.now ?? Date.now;
    this.#at = this.#now();
    this.#sleep = opts.sleep ?? sleep;
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#at) * this.#perMs);
    this.#at = now;
  }

  /** Waits until `n` requests may be sent (n above the capacity is taken as the capacity). */
  async take(n = 1, signal?: AbortSignal): Promise<void> {
    const want = Math.min(n, this.#capacity);
    for (;;) {
      signal?.throwIfAborted();
      this.#refill();
      if (this.#tokens >= want) {
        this.#tokens -= want;
        return;
      }
      await this.#sleep(Math.ceil((want - this.#tokens) / this.#perMs), signal);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
