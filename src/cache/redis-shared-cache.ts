// The shared cache on Redis (ioredis), built so that Redis can never slow a review down or
// make it fail:
//   - every command has a budget (callBudgetMs, a few ms on a LAN): ioredis' commandTimeout
//     plus our own timer, whichever fires first; past it the command reads as a miss;
//   - no offline queue: while disconnected a command fails at once instead of waiting for the
//     reconnection (ioredis keeps reconnecting in the background);
//   - after a timeout Redis is left alone for a while (BREAK_MS): a paused server (SIGSTOP, a
//     long fork, a full network queue) would otherwise cost every lookup its budget;
//   - values are JSON in an envelope {v, d}; anything else is garbage, counted and ignored;
//   - entries carry their TTL (SET ... PX), locks too (SET NX PX), and a lock is released only
//     by its holder (compare-and-delete script).
import { randomUUID } from 'node:crypto';
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import { sharedKey, type Decode, type FallbackReason, type Produced, type SharedCache, type SharedCacheObserver } from './shared-cache.js';

export interface RedisSharedCacheOptions {
  /** redis://host:port[/db] or rediss:// (TLS). A password in it works, but use `password`. */
  url: string;
  password?: string;
  callBudgetMs: number;
  flightWaitMs: number;
  keyPrefix: string;
  observe?: SharedCacheObserver;
  /** Told when the connection is lost or back (logs); never with a secret. */
  onState?: (state: 'ready' | 'down', detail?: string) => void;
}

const ENVELOPE_VERSION = 1;
/** How long Redis is not asked after a command ran past its budget. */
const BREAK_MS = 1000;
/** How often a replica waiting on another's flight looks for its result. */
const POLL_MS = 20;
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

type Outcome<T> = { ok: true; value: T } | { ok: false; reason: FallbackReason };

class BudgetExceeded extends Error {}

/** The URL without its password, for logs. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable url)';
  }
}

export class RedisSharedCache implements SharedCache {
  readonly #opts: RedisSharedCacheOptions;
  readonly #redis: RedisClient;
  #breakUntil = 0;
  #up = false;

  private constructor(opts: RedisSharedCacheOptions, redis: RedisClient) {
    this.#opts = opts;
    this.#redis = redis;
    redis.on('ready', () => {
      this.#up = true;
      this.#opts.onState?.('ready');
    });
    const down = (detail?: string): void => {
      if (!this.#up) return;
      this.#up = false;
      this.#opts.onState?.('down', detail);
    };
    // An 'error' listener is required (ioredis would print every reconnection failure); the
    // message of a connection error names host and port, never the password.
    redis.on('error', (err: Error) => down((err as NodeJS.ErrnoException).code ?? err.message));
    redis.on('close', () => down('connection closed'));
  }

  static async create(opts: RedisSharedCacheOptions): Promise<RedisSharedCache> {
    const { Redis } = await import('ioredis');
    const options: RedisOptions = {
      commandTimeout: opts.callBudgetMs,
      connectTimeout: Math.max(1000, opts.callBudgetMs),
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // Reconnect forever, at most every 2 s.
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
      lazyConnect: false,
      enableReadyCheck: true,
      ...(opts.password ? { password: opts.password } : {}),
    };
    const redis = new Redis(opts.url, options);
    return new RedisSharedCache(opts, redis);
  }

  /** Whether the connection is up (tests, readiness of the cache only: never of the webhook). */
  get connected(): boolean {
    return this.#up && this.#redis.status === 'ready';
  }

  async #call<T>(fn: (r: RedisClient) => Promise<T>): Promise<Outcome<T>> {
    if (Date.now() < this.#breakUntil || this.#redis.status !== 'ready') return { ok: false, reason: 'unavailable' };
    let timer: NodeJS.Timeout | undefined;
    try {
      const value = await Promise.race([
        fn(this.#redis),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new BudgetExceeded()), this.#opts.callBudgetMs);
          timer.unref();
        }),
      ]);
      return { ok: true, value };
    } catch (err) {
      const timedOut = err instanceof BudgetExceeded || /timed? ?out/i.test((err as Error)?.message ?? '');
      if (timedOut) this.#breakUntil = Date.now() + BREAK_MS;
      return { ok: false, reason: timedOut ? 'timeout' : 'error' };
    } finally {
      clearTimeout(timer);
    }
  }

  #key(kind: string, parts: readonly string[]): string {
    return sharedKey(this.#opts.keyPrefix, kind, parts);
  }

  async #read<T>(key: string, decode: Decode<T>): Promise<{ state: 'hit'; value: T } | { state: 'miss' } | { state: 'fault'; reason: FallbackReason }> {
    const got = await this.#call((r) => r.get(key));
    if (!got.ok) return { state: 'fault', reason: got.reason };
    if (got.value === null) return { state: 'miss' };
    let value: T | undefined;
    try {
      const env = JSON.parse(got.value) as { v?: unknown; d?: unknown };
      value = env && env.v === ENVELOPE_VERSION ? decode(env.d) : undefined;
    } catch {
      value = undefined;
    }
    if (value === undefined) return { state: 'fault', reason: 'garbage' };
    return { state: 'hit', value };
  }

  #observeRead(state: 'hit' | 'miss' | 'fault', reason?: FallbackReason): void {
    if (state === 'fault') this.#opts.observe?.('get', 'fallback', reason);
    else this.#opts.observe?.('get', state);
  }

  async get<T>(kind: string, parts: readonly string[], decode: Decode<T>): Promise<T | undefined> {
    const r = await this.#read(this.#key(kind, parts), decode);
    this.#observeRead(r.state, r.state === 'fault' ? r.reason : undefined);
    return r.state === 'hit' ? r.value : undefined;
  }

  async set(kind: string, parts: readonly string[], value: unknown, ttlMs: number): Promise<void> {
    const ms = Math.floor(ttlMs);
    if (!(ms > 0)) return;
    let text: string;
    try {
      text = JSON.stringify({ v: ENVELOPE_VERSION, d: value });
    } catch {
      return;
    }
    const done = await this.#call((r) => r.set(this.#key(kind, parts), text, 'PX', ms));
    if (done.ok) this.#opts.observe?.('set', 'stored');
    else this.#opts.observe?.('set', 'fallback', done.reason);
  }

  async flight<T>(kind: string, parts: readonly string[], decode: Decode<T>, work: () => Promise<Produced<T>>): Promise<T> {
    const key = this.#key(kind, parts);
    const first = await this.#read(key, decode);
    this.#observeRead(first.state, first.state === 'fault' ? first.reason : undefined);
    if (first.state === 'hit') return first.value;
    let token: string | undefined;
    if (first.state === 'miss') {
      const mine = randomUUID();
      // The lock expires by itself (we died, or its release was lost to a fault) when the
      // others would stop waiting anyway.
      const lock = await this.#call((r) => r.set(`${key}:lock`, mine, 'PX', Math.max(1, this.#opts.flightWaitMs), 'NX'));
      if (!lock.ok) this.#opts.observe?.('lock', 'fallback', lock.reason);
      else if (lock.value === 'OK') {
        token = mine;
        this.#opts.observe?.('lock', 'acquired');
      } else {
        this.#opts.observe?.('lock', 'held');
        const waited = await this.#wait(key, decode);
        if (waited !== undefined) return waited;
      }
    }
    try {
      const produced = await work();
      if (produced.ttlMs > 0) await this.set(kind, parts, produced.value, produced.ttlMs);
      return produced.value;
    } finally {
      if (token) void this.#call((r) => r.eval(RELEASE, 1, `${key}:lock`, token));
    }
  }

  /** Another replica holds the flight: its result, or undefined (it failed, died, or is too slow). */
  async #wait<T>(key: string, decode: Decode<T>): Promise<T | undefined> {
    const until = Date.now() + this.#opts.flightWaitMs;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      const r = await this.#read(key, decode);
      if (r.state === 'hit') {
        this.#opts.observe?.('wait', 'hit');
        return r.value;
      }
      if (r.state === 'fault') {
        this.#opts.observe?.('wait', 'fallback', r.reason);
        return undefined;
      }
      const held = await this.#call((c) => c.exists(`${key}:lock`));
      if (!held.ok) {
        this.#opts.observe?.('wait', 'fallback', held.reason);
        return undefined;
      }
      if (held.value === 0) {
        // Released without a stored result (an error is not shared): look once more, then ask.
        const last = await this.#read(key, decode);
        if (last.state === 'hit') {
          this.#opts.observe?.('wait', 'hit');
          return last.value;
        }
        this.#opts.observe?.('wait', 'released');
        return undefined;
      }
    }
    this.#opts.observe?.('wait', 'expired');
    return undefined;
  }

  async close(): Promise<void> {
    this.#redis.disconnect(false);
  }
}
