// End-to-end, issue 4: pull credentials as the kubelet resolves them, through a real
// kube-apiserver v1.20.2 (ServiceAccount admission plugin on), the real kubectl, a real
// htpasswd registry and `backoff-guard serve` reading Secrets, ServiceAccounts and Nodes with
// the admin kubeconfig. Pull secrets are created with `kubectl create secret docker-registry`.
import t from 'tap';
import { join } from 'node:path';
import { startRegistry } from '../helpers/registry.js';
import type { TestRegistry } from '../helpers/registry.js';
import { pushImage, seedStandardFixtures } from '../helpers/registry-fixtures.js';
import { registerBackoffGuard, startCluster, startWebhook } from './harness/index.js';
import type { Cluster, KubectlResult, WebhookServer } from './harness/index.js';

t.setTimeout(20 * 60_000);

const WEBHOOK = 'validate.backoff-guard.io';
const DENIED = `admission webhook "${WEBHOOK}" denied the request: `;
const NS = 'creds';
const NS_SA = 'creds-sa';
const PASSWORD = 'e2e-registry-password-7';

function denialMessage(r: KubectlResult): string {
  const i = r.stderr.indexOf(DENIED);
  return i < 0 ? '' : r.stderr.slice(i + DENIED.length).trim();
}
const warnings = (r: KubectlResult): string[] => r.stderr.split('\n').filter((l) => l.startsWith('Warning: '));
const show = (r: KubectlResult): string => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

let cluster: Cluster;
let priv: TestRegistry;
let open: TestRegistry;
let webhook: WebhookServer;

cluster = await startCluster({ log: (l) => t.comment(l) });
t.teardown(async () => {
  const keep = !t.passing();
  if (keep) t.comment(`e2e failed: logs kept in ${cluster.dir}`);
  await cluster.stop({ keep });
});
priv = await startRegistry({ auth: 'htpasswd', users: { alice: PASSWORD } });
t.teardown(() => priv.stop());
await pushImage(priv, { repo: 'private/app', tag: '1.0' });
open = await startRegistry({ auth: 'none' });
t.teardown(() => open.stop());
await seedStandardFixtures(open);

const P = priv.host;
const PRIVATE = `${P}/private/app:1.0`;

await cluster.ensureNamespace(NS);
await cluster.ensureNamespace(NS_SA, { imagePullSecrets: ['regcred'] });
const secret = (ns: string, name: string, server: string, password: string) =>
  cluster.kubectlOk(['create', 'secret', 'docker-registry', name, '-n', ns, `--docker-server=${server}`, '--docker-username=alice', `--docker-password=${password}`]);
await secret(NS, 'regcred', P, PASSWORD);
await secret(NS, 'stale', P, 'an-old-password-1');
await secret(NS, 'v2-key', `https://${P}/v2/`, PASSWORD);
await secret(NS, 'other-port', `${P.split(':')[0]}:1`, PASSWORD);
await secret(NS, 'path-key', `${P}/private`, PASSWORD);
await secret(NS_SA, 'regcred', P, PASSWORD);
await cluster.kubectlOk(['create', 'secret', 'generic', 'opaque', '-n', NS, '--from-literal=password=x']);
// A ServiceAccount carrying the pull secret, for templates that name it.
await cluster.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'builder', namespace: NS }, imagePullSecrets: [{ name: 'regcred' }] });
// Nodes, as a kubelet would register them (status set on create): one holds an image the
// registry does not have (any more).
for (const [i, images] of [[1, [`${P}/private/app:0.9`]], [2, []], [3, []]] as const) {
  await cluster.apply({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: `node-${i}` },
    status: { images: images.length ? [{ names: [...images, `${P}/private/app@sha256:${'9'.repeat(64)}`], sizeBytes: 1000 }] : [] },
  });
}

webhook = await startWebhook({
  dir: join(cluster.dir, 'webhook-creds'),
  kubeconfig: cluster.kubeconfig,
  registry: { timeoutMs: 2500 },
  registryHosts: {
    'docker.io': { server: open.url, caFile: open.caFile, allowPrivateNetwork: true },
    [P]: { caFile: priv.caFile, allowPrivateNetwork: true },
  },
  // Short API caches, so a secret created during the test is seen at once.
  extraConfig: { kubernetes: { kubeconfig: cluster.kubeconfig, cacheTtlMs: 200 } },
});
t.teardown(() => webhook.stop());
await registerBackoffGuard(cluster, webhook, NS);

const pod = (name: string, ns: string, image: string, spec: Record<string, unknown> = {}, container: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns },
  spec: { containers: [{ name: 'app', image, ...container }], ...spec },
});
const deployment = (name: string, ns: string, image: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns },
  spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }], ...spec } } },
});
const secrets = (...names: string[]) => ({ imagePullSecrets: names.map((name) => ({ name })) });
const apply = (obj: object) => cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(obj) });

t.test('a pod with a matching pull secret is admitted without a word', async (t) => {
  const r = await apply(pod('with-regcred', NS, PRIVATE, secrets('regcred')));
  t.equal(r.code, 0, show(r));
  t.equal(r.stdout, 'pod/with-regcred created\n');
  t.equal(r.stderr, '');
});

t.test('a manifest without metadata.namespace, applied with -n: the secrets of that namespace are read', async (t) => {
  const obj = pod('no-ns-in-manifest', NS, PRIVATE, secrets('regcred'));
  delete (obj.metadata as { namespace?: string }).namespace;
  const r = await cluster.kubectl(['apply', '-n', NS, '-f', '-'], { input: JSON.stringify(obj) });
  t.equal(r.code, 0, show(r));
  t.equal(r.stderr, '', 'admitted without a word: the namespace was known');
  const tpl = deployment('no-ns-template', NS_SA, PRIVATE);
  delete (tpl.metadata as { namespace?: string }).namespace;
  const d = await cluster.kubectl(['apply', '-n', NS_SA, '-f', '-'], { input: JSON.stringify(tpl) });
  t.equal(d.code, 0, show(d));
  t.equal(d.stderr, '');
});

t.test('no pull secret and the registry demands auth: denied with the runtime words', async (t) => {
  const r = await apply(pod('no-secret', NS, PRIVATE));
  t.equal(r.code, 1, show(r));
  t.match(denialMessage(r), 'pull access denied, repository does not exist or may require authorization');
  t.match(denialMessage(r), `${P} refused anonymous access`);
});

t.test('pull secrets that do not match the registry: denied, naming the registry and the secrets', async (t) => {
  const r = await apply(pod('no-match', NS, PRIVATE, secrets('other-port', 'opaque')));
  t.equal(r.code, 1, show(r));
  t.match(denialMessage(r), `${P} requires authorization and none of pull secrets "other-port", "opaque" has credentials for it`);
  t.match(warnings(r).join('\n'), 'pull secret "opaque" is ignored by the kubelet: it is of type "Opaque"', 'the wrong-type secret is named in a warning');
});

t.test('credentials rejected: denied, naming the secret', async (t) => {
  const r = await apply(pod('stale-secret', NS, PRIVATE, secrets('stale')));
  t.equal(r.code, 1, show(r));
  t.match(denialMessage(r), `credentials in secret ${NS}/stale (key "${P}") were rejected by ${P}`);
  t.notMatch(r.stderr, /an-old-password-1/, 'never the password');
});

t.test('two candidate credentials, the first rejected: the second pulls, admitted', async (t) => {
  const r = await apply(pod('stale-then-good', NS, PRIVATE, secrets('stale', 'regcred')));
  t.equal(r.code, 0, show(r));
  t.equal(r.stderr, '');
});

t.test('key forms: /v2/ stripped and a path prefix match; another port does not', async (t) => {
  const v2 = await apply(pod('v2-key', NS, PRIVATE, secrets('v2-key')));
  t.equal(v2.code, 0, show(v2));
  const path = await apply(pod('path-key', NS, PRIVATE, secrets('path-key')));
  t.equal(path.code, 0, show(path));
  const port = await apply(pod('port-key', NS, PRIVATE, secrets('other-port')));
  t.equal(port.code, 1, show(port));
});

t.test("a secret that does not exist: a warning with the kubelet's words", async (t) => {
  const r = await apply(pod('gone-secret', NS, 'nginx:1.14.2', secrets('gone')));
  t.equal(r.code, 0, show(r));
  t.same(warnings(r), [
    `Warning: [image-exists] container "app": missing pull secret in namespace ${NS}; kubelet: "Unable to retrieve some image pull secrets (gone); attempting to pull the image may not succeed."; fix: create it`,
  ]);
  const priv = await apply(pod('gone-secret-private', NS, PRIVATE, secrets('gone')));
  t.equal(priv.code, 0, `creating the secret later fixes the pull: a warning, not a deny\n${show(priv)}`);
  t.match(warnings(priv).join('\n'), `no usable pull secret for ${P} ("gone" missing or broken): ErrImagePull until fixed; fix: create or repair the pull secret`);
});

t.test('a bad secret breaks even a public image (the kubelet never falls back to anonymous)', async (t) => {
  await cluster.kubectlOk(['create', 'secret', 'docker-registry', 'hub-typo', '-n', NS, `--docker-server=${P}`, '--docker-username=alice', '--docker-password=typo']);
  // The htpasswd registry serves everything behind auth; its public-looking library/ repo is
  // what a bad secret for that host breaks.
  await pushImage(priv, { repo: 'library/tool', tag: '1' });
  const r = await apply(pod('bad-secret-public', NS, `${P}/library/tool:1`, secrets('hub-typo')));
  t.equal(r.code, 1, show(r));
  t.match(denialMessage(r), `credentials in secret ${NS}/hub-typo (key "${P}") were rejected by ${P}`);
});

t.test('the ServiceAccount admission plugin copies its secrets into a pod: admitted', async (t) => {
  const r = await apply(pod('via-sa', NS_SA, PRIVATE));
  t.equal(r.code, 0, show(r));
  t.equal(r.stderr, '');
  const got = await cluster.kubectlOk(['get', 'pod', 'via-sa', '-n', NS_SA, '-o', 'jsonpath={.spec.imagePullSecrets[*].name}']);
  t.equal(got.stdout, 'regcred', 'the plugin added the service account secret');
});

t.test("templates: the service account's secrets (default when unset), else denied", async (t) => {
  const viaDefault = await apply(deployment('tpl-default-sa', NS_SA, PRIVATE));
  t.equal(viaDefault.code, 0, show(viaDefault));
  t.equal(viaDefault.stderr, '');
  const viaNamed = await apply(deployment('tpl-builder', NS, PRIVATE, { serviceAccountName: 'builder' }));
  t.equal(viaNamed.code, 0, show(viaNamed));
  const none = await apply(deployment('tpl-none', NS, PRIVATE));
  t.equal(none.code, 1, show(none));
  t.match(denialMessage(none), `service account "default", which has no pull secrets`);
  const own = await apply(deployment('tpl-own', NS, PRIVATE, secrets('regcred')));
  t.equal(own.code, 0, show(own));
});

t.test('node cache: the registry lacks the image but a node holds it (IfNotPresent): warning with the count', async (t) => {
  const r = await apply(pod('cached-on-node', NS, `${P}/private/app:0.9`, secrets('regcred')));
  t.equal(r.code, 0, show(r));
  t.match(warnings(r).join('\n'), `not in ${P}, but present on 1 of 3 nodes (IfNotPresent: it starts there); any other node will fail with ErrImagePull`);
  const always = await apply(pod('cached-always', NS, `${P}/private/app:0.9`, secrets('regcred'), { imagePullPolicy: 'Always' }));
  t.equal(always.code, 1, `Always pulls: denied\n${show(always)}`);
});

t.test('imagePullPolicy Never: a warning only when the registry lacks the image', async (t) => {
  const present = await apply(pod('never-present', NS, PRIVATE, {}, { imagePullPolicy: 'Never' }));
  t.equal(present.code, 0, show(present));
  t.equal(present.stderr, '', 'no pull, so no auth question');
  const missing = await apply(pod('never-missing', NS, `${P}/private/app:0.8`, secrets('regcred'), { imagePullPolicy: 'Never' }));
  t.equal(missing.code, 0, show(missing));
  t.match(warnings(missing).join('\n'), `not in ${P} and imagePullPolicy is Never: it starts only where preloaded (present on 0 of 3 nodes), elsewhere ErrImageNeverPull`);
});

t.test('the webhook log holds no secret value', async (t) => {
  const log = webhook.proc.log();
  t.notMatch(log, new RegExp(`${PASSWORD}|an-old-password-1|${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`));
  t.notMatch(log, /authorization"?\s*:\s*"(Basic|Bearer)/i);
});
