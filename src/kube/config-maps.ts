// ConfigMaps read from the API server for the config-refs check (issue 5): only their keys are
// kept (data and binaryData), never the values. `get` on configmaps (the chart's ClusterRole,
// rbac.readConfigMaps); cached briefly, single-flight, never waiting past the review's deadline
// (cachedReader in secrets.ts).
import type { CoreV1Api } from '@kubernetes/client-node';
import { apiFailure, apiStatus, cachedReader, type ReaderOptions } from './secrets.js';

export type ConfigMapRead = { status: 'found'; keys: string[] } | { status: 'missing' } | { status: 'unknown'; reason: string };

export type ConfigMapReader = (namespace: string, name: string, signal: AbortSignal) => Promise<ConfigMapRead>;

export function configMapReader(core: Pick<CoreV1Api, 'readNamespacedConfigMap'>, opts: ReaderOptions): ConfigMapReader {
  return cachedReader<ConfigMapRead>(
    async (namespace, name) => {
      try {
        const cm = await core.readNamespacedConfigMap({ name, namespace });
        return { status: 'found', keys: [...Object.keys(cm.data ?? {}), ...Object.keys(cm.binaryData ?? {})] };
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
