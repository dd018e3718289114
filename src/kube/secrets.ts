// Pull secrets read from the API server (`get` on secrets; see the chart's ClusterRole for why).
// Cached briefly and bounded, one request per secret in flight, never waiting past the review's
// deadline. Values stay in this process's memory only for the cache TTL and are never logged:
// callers get the type and the decoded data, and errors carry the HTTP status, not the body.
import type { CoreV1Api } from '@kubernetes/client-node';
import { SingleFlight } from '../util/single-flight.js';
import { TtlCache } from '../util/ttl-cache.js';

export type SecretRead =
  | { status: 'found'; type?: string; data: Record<string, Buffer> }
  /** 404: the kubelet goes on without it (FailedToRetrieveImagePullSecret). */
  | { status: 'missing' }
  /** Could not tell (403, network, deadline): callers judge as if they had no access. */
  | { status: 'unknown'; reason: string };

export interface ReaderOptions {
  ttlMs: number;
  maxEntries?: number;
  /** Failed reads are cached this long (default min(ttlMs, 5 s)). */
  errorTtlMs?: number;
}

/** The HTTP status of a @kubernetes/client-node ApiException, if that is what `err` is. */
export function apiStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Why no HTTP answer came from the API server (socket error code, else the message). */
export function unreachableReason(err: unknown): string {
  const errno = (err as { cause?: { code?: unknown }; code?: unknown } | null)?.cause?.code ?? (err as { code?: unknown } | null)?.code;
  if (typeof errno === 'string') return `the API server cannot be reached (${errno})`;
  return `the API server cannot be reached (${(err as Error)?.message ?? String(err)})`;
}

/** A one-line reason for a failed API read that never includes the response body. */
export function apiFailure(err: unknown): string {
  const code = apiStatus(err);
  if (code === 403) return 'forbidden (the webhook needs get on this resource)';
  if (code === 401) return 'unauthorized';
  if (code !== undefined) return `the API server answered HTTP ${code}`;
  const errno = (err as { code?: unknown; cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof errno === 'string' ? `the API server cannot be reached (${errno})` : 'the API server cannot be reached';
}

/** Resolves with `fallback` when the signal fires first; the read goes on and fills the cache. */
export function untilAborted<T>(p: Promise<T>, signal: AbortSignal, fallback: () => T): Promise<T> {
  if (signal.aborted) return Promise.resolve(fallback());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => resolve(fallback());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** A cached, single-flight reader of namespaced objects. */
export function cachedReader<T extends { status: string }>(
  read: (namespace: string, name: string) => Promise<T>,
  opts: ReaderOptions,
  isFailure: (v: T) => boolean,
  onDeadline: () => T,
): (namespace: string, name: string, signal: AbortSignal) => Promise<T> {
  const cache = new TtlCache<string, T>(opts.maxEntries ?? 2000);
  const flights = new SingleFlight<string, T>();
  const errorTtl = opts.errorTtlMs ?? Math.min(opts.ttlMs, 5000);
  return (namespace, name, signal) => {
    const key = `${namespace}/${name}`;
    const hit = cache.get(key);
    if (hit) return Promise.resolve(hit);
    const p = flights.do(key, async () => {
      const v = await read(namespace, name);
      cache.set(key, v, isFailure(v) ? errorTtl : opts.ttlMs);
      return v;
    });
    return untilAborted(p, signal, onDeadline);
  };
}

export type SecretReader = (namespace: string, name: string, signal: AbortSignal) => Promise<SecretRead>;

export function secretReader(core: Pick<CoreV1Api, 'readNamespacedSecret'>, opts: ReaderOptions): SecretReader {
  return objectReader(
    (namespace, name) => core.readNamespacedSecret({ name, namespace }),
    (s): Extract<SecretRead, { status: 'found' }> => {
      const data: Record<string, Buffer> = {};
      for (const [k, v] of Object.entries(s.data ?? {})) if (typeof v === 'string') data[k] = Buffer.from(v, 'base64');
      return s.type !== undefined ? { status: 'found', type: s.type, data } : { status: 'found', data };
    },
    opts,
  );
}

/** What a reader of one namespaced object answers: what it keeps of it, missing (404), or unknown. */
export type NamespacedRead<F> = F | { status: 'missing' } | { status: 'unknown'; reason: string };

/**
 * A cached reader of one kind of namespaced object: `get` it and keep what `found` makes of it;
 * a 404 is "missing", any other failure "unknown" with a reason that never includes the body.
 */
export function objectReader<O, F extends { status: 'found' }>(
  get: (namespace: string, name: string) => Promise<O>,
  found: (object: O) => F,
  opts: ReaderOptions,
): (namespace: string, name: string, signal: AbortSignal) => Promise<NamespacedRead<F>> {
  return cachedReader<NamespacedRead<F>>(
    async (namespace, name) => {
      try {
        return found(await get(namespace, name));
      } catch (err) {
        return apiStatus(err) === 404 ? { status: 'missing' } : { status: 'unknown', reason: apiFailure(err) };
      }
    },
    opts,
    (v) => v.status === 'unknown',
    () => ({ status: 'unknown', reason: 'not read within the review deadline' }),
  );
}

