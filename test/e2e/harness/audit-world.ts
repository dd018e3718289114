// The world of the audit e2e files (issue 13): a real kube-apiserver v1.20.2 + etcd, a real
// htpasswd registry with deletes enabled, images pushed through the registry API, one namespace
// with a docker-registry pull secret `regcred` made (and rotated) with the real kubectl.
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { pushImage, type PushedImage } from '../../helpers/registry-fixtures.js';
import { startCluster, type Cluster } from './cluster.js';

interface TapLike {
  comment(...args: unknown[]): void;
  teardown(fn: () => unknown): void;
  passing(): boolean;
}

export interface AuditWorld {
  cluster: Cluster;
  reg: TestRegistry;
  cred: { username: string; password: string };
  /** By "repo:tag". */
  pushed: Record<string, PushedImage>;
  /** Creates or replaces `regcred` in the namespace with this password (kubectl create --dry-run | apply). */
  setSecret(password: string, namespace?: string): Promise<void>;
  /** A Deployment whose pod pulls `image` with `regcred`. */
  deployment(name: string, image: string, namespace?: string): object;
}

export async function startAuditWorld(t: TapLike, opts: { namespace: string; password: string; images: Array<{ repo: string; tag: string }> }): Promise<AuditWorld> {
  const cluster = await startCluster({ log: (l) => t.comment(l) });
  t.teardown(async () => {
    const keep = !t.passing();
    if (keep) t.comment(`e2e failed: logs kept in ${cluster.dir}`);
    await cluster.stop({ keep });
  });
  const reg = await startRegistry({ auth: 'htpasswd', users: { alice: opts.password } });
  t.teardown(() => reg.stop());
  const cred = { username: 'alice', password: opts.password };
  const pushed: Record<string, PushedImage> = {};
  for (const { repo, tag } of opts.images) pushed[`${repo}:${tag}`] = await pushImage(reg, { repo, tag, credential: cred });
  await cluster.ensureNamespace(opts.namespace);
  const setSecret = async (password: string, namespace = opts.namespace): Promise<void> => {
    const r = await cluster.kubectlOk(['create', 'secret', 'docker-registry', 'regcred', '-n', namespace, `--docker-server=${reg.host}`, '--docker-username=alice', `--docker-password=${password}`, '--dry-run=client', '-o', 'yaml']);
    await cluster.kubectlOk(['apply', '-f', '-'], { input: r.stdout });
  };
  await setSecret(opts.password);
  const deployment = (name: string, image: string, namespace = opts.namespace): object => {
    const labels = { app: name };
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace },
      spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { imagePullSecrets: [{ name: 'regcred' }], containers: [{ name: 'app', image }] } } },
    };
  };
  return { cluster, reg, cred, pushed, setSecret, deployment };
}
