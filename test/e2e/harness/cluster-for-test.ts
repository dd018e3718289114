// The set-up of an e2e file that talks to the API server with @kubernetes/client-node: a cluster
// (kube-apiserver + etcd) kept for inspection when the file failed, one namespace, and a
// KubeConfig loaded from the cluster's kubeconfig.
import { KubeConfig } from '@kubernetes/client-node';
import { startCluster, type Cluster } from './cluster.js';

interface TapLike {
  comment(...args: unknown[]): void;
  teardown(fn: () => unknown): void;
  passing(): boolean;
}

export async function clusterForTest(t: TapLike, namespace: string): Promise<{ cluster: Cluster; kc: KubeConfig }> {
  const cluster = await startCluster({ log: (l) => t.comment(l), logAdmissionBodies: false });
  t.teardown(async () => {
    await cluster.stop({ keep: !t.passing() });
  });
  await cluster.ensureNamespace(namespace);
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  return { cluster, kc };
}

/** The same cluster and admin credentials, impersonating a user with no RBAC grants (RBAC is on). */
export function impersonating(kc: KubeConfig, user: string): KubeConfig {
  const other = new KubeConfig();
  other.loadFromOptions({
    clusters: kc.clusters,
    users: kc.users.map((u) => ({ ...u, impersonateUser: user })),
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  return other;
}
