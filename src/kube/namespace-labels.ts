// Namespace labels (for the per-namespace mode), read from the API server and cached briefly.
// A failed read is not cached for long and yields undefined: the default mode applies.
import type { CoreV1Api } from '@kubernetes/client-node';
import { SingleFlight } from '../util/single-flight.js';
import { TtlCache } from '../util/ttl-cache.js';

export function namespaceLabelReader(core: Pick<CoreV1Api, 'readNamespace'>, ttlMs: number, maxEntries = 5000) {
  const cache = new TtlCache<string, Record<string, string> | undefined>(maxEntries);
  const flights = new SingleFlight<string, Record<string, string> | undefined>();
  return async (namespace: string, signal: AbortSignal): Promise<Record<string, string> | undefined> => {
    const hit = cache.get(namespace);
    if (hit) return hit;
    const read = flights.do(namespace, async () => {
      try {
        const ns = await core.readNamespace({ name: namespace });
        const labels = { ...(ns.metadata?.labels ?? {}) };
        cache.set(namespace, labels, ttlMs);
        return labels;
      } catch {
        return undefined;
      }
    });
    // Never wait past the review's deadline for a label: the default mode applies then.
    return Promise.race([
      read,
      new Promise<undefined>((resolve) => {
        if (signal.aborted) resolve(undefined);
        signal.addEventListener('abort', () => resolve(undefined), { once: true });
      }),
    ]);
  };
}
