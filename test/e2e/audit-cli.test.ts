// End-to-end, issue 13: `backoff-guard audit` against a real kube-apiserver v1.20.2 and a real
// htpasswd registry. Workloads are created with the real kubectl; the tag is deleted through the
// registry API (storage.delete enabled in the test registry); the pull secret is rotated with
// kubectl. No webhook is registered: the audit reads what already runs.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runCli } from '../helpers/cli.js';
import { deleteManifest, pushImage } from '../helpers/registry-fixtures.js';
import { startAuditWorld } from './harness/index.js';

t.setTimeout(10 * 60_000);

const PASSWORD = 'e2e-audit-password-3';
const NS = 'audit-e2e';
const { cluster, reg, cred, pushed, setSecret: secret, deployment } = await startAuditWorld(t, {
  namespace: NS,
  password: PASSWORD,
  images: [
    { repo: 'team/app', tag: '1.0' },
    { repo: 'team/worker', tag: '2.0' },
  ],
});
const app = pushed['team/app:1.0']!;

const configFile = join(cluster.dir, 'audit.yaml');
writeFileSync(configFile, stringify({ registry: { hosts: { [reg.host]: { caFile: reg.caFile, allowPrivateNetwork: true } } }, audit: { requestsPerMinute: 6000 }, log: { level: 'silent' } }));
const audit = (...args: string[]) => runCli(['audit', '--kubeconfig', cluster.kubeconfig, '--config', configFile, ...args], { timeoutMs: 120_000 });

const podSpec = (image: string, name = 'app') => ({ imagePullSecrets: [{ name: 'regcred' }], containers: [{ name, image }] });
await cluster.apply([
  deployment('web', `${reg.host}/team/app:1.0`),
  { apiVersion: 'batch/v1beta1', kind: 'CronJob', metadata: { name: 'nightly', namespace: NS }, spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: { ...podSpec(`${reg.host}/team/worker:2.0`, 'job'), restartPolicy: 'Never' } } } } } },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'debug', namespace: NS }, spec: podSpec(`${reg.host}/team/app:1.0`) },
  // Owned by a ReplicaSet: audited through its owner, not on its own.
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-abc12', namespace: NS, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc', uid: '00000000-0000-0000-0000-000000000001', controller: true }] }, spec: podSpec(`${reg.host}/team/app:1.0`) },
]);

type Json = { workloads: number; lookups: number; images: Array<{ kind: string; name: string; container: string; image: string; status: string; detail: string }> };
const statusOf = (j: Json) => Object.fromEntries(j.images.map((i) => [`${i.kind}/${i.name}`, i.status]));

t.test('every image available: exit 0, one lookup per distinct image, controller-owned pods left out', async (t) => {
  const r = await audit('-n', NS, '-o', 'json');
  t.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Json;
  t.same(statusOf(j), { 'Deployment/web': 'available', 'CronJob/nightly': 'available', 'Pod/debug': 'available' });
  t.equal(j.workloads, 3, 'the ReplicaSet-owned pod is not audited by itself');
  t.equal(j.lookups, 2, 'two distinct images, two lookups');
});

t.test('the tag deleted through the registry API: absent, exit 1, the table says what will fail', async (t) => {
  await deleteManifest(reg, { repo: 'team/app', digest: app.digest, credential: cred });
  const r = await audit('-n', NS);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stdout, /^NAMESPACE\s+KIND\s+NAME\s+CONTAINER\s+IMAGE\s+STATUS\s+DETAIL$/m);
  t.match(r.stdout, new RegExp(`audit-e2e\\s+Deployment\\s+web\\s+app\\s+${reg.host.replace(/\./g, '\\.')}/team/app:1\\.0\\s+absent\\s+${reg.host.replace(/\./g, '\\.')} has no manifest 1\\.0 in team/app with secret audit-e2e/regcred`));
  t.match(r.stdout, /3 workloads, 3 containers, 2 distinct images looked up .*; 2 containers will fail to pull: ImagePullBackOff on their next start/);
  // Pushed back: available again.
  await pushImage(reg, { repo: 'team/app', tag: '1.0', credential: cred });
  const back = await audit('-n', NS, '-o', 'json');
  t.equal(back.code, 0, back.stderr);
  t.equal(statusOf(JSON.parse(back.stdout) as Json)['Deployment/web'], 'available');
});

t.test('the pull secret rotated to a wrong password: auth_failed; fixed: available', async (t) => {
  await secret('a-wrong-password-4');
  const r = await audit('-n', NS, '-o', 'json');
  t.equal(r.code, 1);
  const j = JSON.parse(r.stdout) as Json;
  t.same(statusOf(j), { 'Deployment/web': 'auth_failed', 'CronJob/nightly': 'auth_failed', 'Pod/debug': 'auth_failed' });
  t.match(j.images[0]?.detail, /refused secret audit-e2e\/regcred/);
  t.notMatch(r.stdout, /a-wrong-password-4/, 'the secret never appears');
  await secret(PASSWORD);
  const fixed = await audit('-n', NS, '-o', 'json');
  t.equal(fixed.code, 0, fixed.stderr);
});

t.test('cannot tell: an unreachable API server is exit 2 with the reason', async (t) => {
  const bad = join(cluster.dir, 'unreachable.kubeconfig');
  writeFileSync(bad, stringify({ apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'x', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } }], users: [{ name: 'x', user: { token: 't' } }], contexts: [{ name: 'x', context: { cluster: 'x', user: 'x' } }], 'current-context': 'x' }));
  const r = await runCli(['audit', '--kubeconfig', bad, '--config', configFile], { timeoutMs: 60_000 });
  t.equal(r.code, 2);
  t.match(r.stderr, /backoff-guard audit: cannot list workloads \(kubeconfig .*unreachable\.kubeconfig\)/);
});

t.test('1,000 Deployments over 50 images: 50 lookups, one HEAD each', async (t) => {
  const SCALE = 'audit-scale';
  await cluster.ensureNamespace(SCALE);
  await secret(PASSWORD, SCALE);
  for (let i = 0; i < 50; i++) await pushImage(reg, { repo: 'team/scale', tag: `t${i}`, credential: cred });
  const items = Array.from({ length: 1000 }, (_, i) => deployment(`w${i}`, `${reg.host}/team/scale:t${i % 50}`, SCALE));
  await cluster.kubectlOk(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) });
  const started = Date.now();
  const r = await audit('-n', SCALE, '-o', 'json');
  const ms = Date.now() - started;
  t.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Json & { requests: number };
  t.equal(j.workloads, 1000, 'every Deployment listed (two pages of 500)');
  t.equal(j.images.length, 1000);
  t.equal(j.lookups, 50, 'one lookup per distinct image, whatever the number of workloads');
  t.equal(j.requests, 50, 'one HEAD per lookup (one credential each)');
  t.ok(j.images.every((i) => i.status === 'available'));
  t.comment(`measured: 1,000 workloads over 50 images -> ${j.lookups} lookups, ${j.requests} registry HEADs, one pass of the CLI in ${ms} ms`);
});
