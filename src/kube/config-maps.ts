// ConfigMaps read from the API server for the config-refs check (issue 5): only their keys are
// kept (data and binaryData), never the values. `get` on configmaps (the chart's ClusterRole,
// rbac.readConfigMaps); cached briefly, single-flight, never waiting past the review's deadline
// (objectReader in secrets.ts).
import type { CoreV1Api } from '@kubernetes/client-node';
import { objectReader, type ReaderOptions } from './secrets.js';

export type ConfigMapRead = { status: 'found'; keys: string[] } | { status: 'missing' } | { status: 'unknown'; reason: string };

export type ConfigMapReader = (namespace: string, name: string, signal: AbortSignal) => Promise<ConfigMapRead>;

export function configMapReader(core: Pick<CoreV1Api, 'readNamespacedConfigMap'>, opts: ReaderOptions): ConfigMapReader {
  return objectReader(
    (namespace, name) => core.readNamespacedConfigMap({ name, namespace }),
    (cm) => ({ status: 'found' as const, keys: [...Object.keys(cm.data ?? {}), ...Object.keys(cm.binaryData ?? {})] }),
    opts,
  );
}
