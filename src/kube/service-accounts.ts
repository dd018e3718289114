// ServiceAccounts read from the API server (`get` on serviceaccounts): the imagePullSecrets a
// workload template inherits (the ServiceAccount admission plugin copies them into each pod
// it creates, only when the pod lists none). Cached briefly, bounded, deadline-aware.
import type { CoreV1Api } from '@kubernetes/client-node';
import { objectReader, type ReaderOptions } from './secrets.js';

export type ServiceAccountRead =
  | { status: 'found'; imagePullSecrets: string[] }
  /** The pods would be rejected by the ServiceAccount admission plugin until it exists. */
  | { status: 'missing' }
  | { status: 'unknown'; reason: string };

export type ServiceAccountReader = (namespace: string, name: string, signal: AbortSignal) => Promise<ServiceAccountRead>;

export function serviceAccountReader(core: Pick<CoreV1Api, 'readNamespacedServiceAccount'>, opts: ReaderOptions): ServiceAccountReader {
  return objectReader(
    (namespace, name) => core.readNamespacedServiceAccount({ name, namespace }),
    (sa) => ({ status: 'found' as const, imagePullSecrets: (sa.imagePullSecrets ?? []).flatMap((r) => (typeof r?.name === 'string' && r.name !== '' ? [r.name] : [])) }),
    opts,
  );
}
