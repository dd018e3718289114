// ServiceAccounts read from the API server (`get` on serviceaccounts): the imagePullSecrets a
// workload template inherits (the ServiceAccount admission plugin copies them into each pod
// it creates, only when the pod lists none). Cached briefly, bounded, deadline-aware.
import type { CoreV1Api } from '@kubernetes/client-node';
import { apiFailure, apiStatus, cachedReader, type ReaderOptions } from './secrets.js';

export type ServiceAccountRead =
  | { status: 'found'; imagePullSecrets: string[] }
  /** The pods would be rejected by the ServiceAccount admission plugin until it exists. */
  | { status: 'missing' }
  | { status: 'unknown'; reason: string };

export type ServiceAccountReader = (namespace: string, name: string, signal: AbortSignal) => Promise<ServiceAccountRead>;

export function serviceAccountReader(core: Pick<CoreV1Api, 'readNamespacedServiceAccount'>, opts: ReaderOptions): ServiceAccountReader {
  return cachedReader<ServiceAccountRead>(
    async (namespace, name) => {
      try {
        const sa = await core.readNamespacedServiceAccount({ name, namespace });
        const names = (sa.imagePullSecrets ?? []).flatMap((r) => (typeof r?.name === 'string' && r.name !== '' ? [r.name] : []));
        return { status: 'found', imagePullSecrets: names };
      } catch (err) {
        if (apiStatus(err) === 404) return { status: 'missing' };
        return { status: 'unknown', reason: apiFailure(err) };
      }
    },
    opts,
    (v) => v.status === 'unknown',
    () => ({ status: 'unknown', reason: 'not read within the review deadline' }),
  );
}
