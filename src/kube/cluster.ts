// The only place that talks to the Kubernetes API server (with @kubernetes/client-node).
// Where the webhook runs decides the credentials: in a pod, the service account (in-cluster);
// outside, an explicit kubeconfig. With neither, there is no cluster: callers get undefined and
// fall back to defaults (the default mode for every namespace), said once in the log.
import { existsSync } from 'node:fs';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';

export interface ClusterOptions {
  enabled: 'auto' | 'on' | 'off';
  kubeconfig?: string;
  /** Present in a pod: /var/run/secrets/kubernetes.io/serviceaccount/token (injected for tests). */
  inClusterTokenPath?: string;
  /** KUBERNETES_SERVICE_HOST, passed in by main.ts (the only reader of process.env). */
  serviceHost?: string;
}

export interface Cluster {
  core: CoreV1Api;
  /** The loaded configuration, for the other API groups (audit: workloads, leases, events). */
  kc: KubeConfig;
  /** Where the credentials came from, for the log. */
  source: string;
}

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** A client, or undefined with the reason when there is no cluster to talk to. */
export function connectCluster(opts: ClusterOptions): { cluster?: Cluster; reason: string } {
  if (opts.enabled === 'off') return { reason: 'kubernetes.enabled is off' };
  const kc = new KubeConfig();
  try {
    if (opts.kubeconfig) {
      kc.loadFromFile(opts.kubeconfig);
      return { cluster: { core: kc.makeApiClient(CoreV1Api), kc, source: `kubeconfig ${opts.kubeconfig}` }, reason: '' };
    }
    if (opts.serviceHost && existsSync(opts.inClusterTokenPath ?? IN_CLUSTER_TOKEN)) {
      kc.loadFromCluster();
      return { cluster: { core: kc.makeApiClient(CoreV1Api), kc, source: 'in-cluster service account' }, reason: '' };
    }
  } catch (err) {
    if (opts.enabled === 'on') throw err;
    return { reason: `cannot load Kubernetes credentials: ${(err as Error).message}` };
  }
  if (opts.enabled === 'on') throw new Error('kubernetes.enabled is on but there is no in-cluster service account and no kubernetes.kubeconfig');
  return { reason: 'no in-cluster service account and no kubeconfig configured' };
}
