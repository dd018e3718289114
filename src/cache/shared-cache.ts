// A cache shared by the webhook's replicas (issue 12), as the facts providers see it: typed
// get/set with TTLs and a single flight across replicas. The engine runs without one (the
// in-process caches are the default: nothing to install for one replica or the CLI); with
// sharedCache.url it is Redis (redis-shared-cache.ts).
//
// Never a dependency of a verdict: every operation answers within its budget, and a fault
// (unreachable, slow, full, garbage) reads as a miss, so the caller goes on with its own
// cache and the registry. Keys are made here from the registry host and the reference (and a
// digest): never from a credential or anything derived from one.
import { createHash } from 'node:crypto';

export type FallbackReason = 'timeout' | 'unavailable' | 'error' | 'garbage';

/** Told of every operation (metrics): op get|set|lock|wait, its result, and why it fell back. */
export type SharedCacheObserver = (op: string, result: string, fallback?: FallbackReason) => void;

/** A value decoder: undefined when what came back is not a value of the expected shape. */
export type Decode<T> = (raw: unknown) => T | undefined;

/** What a single flight's work produced: the value, and how long others may reuse it (0: not shared). */
export interface Produced<T> {
  value: T;
  ttlMs: number;
}

export interface SharedCache {
  /** The value stored under (kind, parts), or undefined (absent, expired, garbage or a fault). */
  get<T>(kind: string, parts: readonly string[], decode: Decode<T>): Promise<T | undefined>;
  /** Stores a value for ttlMs. Never rejects: a failed store is counted and forgotten. */
  set(kind: string, parts: readonly string[], value: unknown, ttlMs: number): Promise<void>;
  /**
   * The stored value, else the result of work(): run by one replica at a time per key (the
   * others wait for its result up to sharedCache.flightWaitMs, then run it themselves). A fault
   * of the cache never stops work() from running here.
   */
  flight<T>(kind: string, parts: readonly string[], decode: Decode<T>, work: () => Promise<Produced<T>>): Promise<T>;
  close(): Promise<void>;
}

/** The key of (kind, parts): a hash, so no reference text reaches the cache's key space. */
export function sharedKey(prefix: string, kind: string, parts: readonly string[]): string {
  return `${prefix}${kind}:${createHash('sha256').update(parts.join('\0')).digest('base64url')}`;
}
