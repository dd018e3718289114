// End-to-end: the chart as users install it, with the real helm v3.17.3 (test/helpers/helm.ts)
// against the real kube-apiserver v1.20.2 + etcd of the e2e harness (issue 11), in order:
//   1. helm install: every object created, PDB policy/v1beta1 for this 1.20 server, the caBundle
//      is the generated Secret's CA;
//   2. helm upgrade with the same values: the same CA, certificate and caBundle (lookup reuse);
//   3. helm upgrade with a changed config: the ConfigMap changes and so does the checksum/config
//      annotation of the pod template (what makes the Deployment controller roll the pods);
//   4. the webhook served from what helm install created: the ConfigMap's config.yaml and the
//      Secret's tls.crt/tls.key run `backoff-guard serve` on loopback, the installed
//      ValidatingWebhookConfiguration gets only its clientConfig patched to a loopback url (the
//      rendered caBundle kept), and `kubectl apply` of the seed pods is denied through it;
//   5. helm uninstall: nothing of the release is left, and the API server's audit log shows the
//      webhook configuration deleted before anything else of the release (the pre-delete hook);
//   6. the contrast: `helm uninstall --no-hooks` deletes it last, in Helm's own order.
//   7. `helm template --kube-version 1.20.2 | kubectl apply`: every rendered object is accepted.
// There is no controller-manager, scheduler or kubelet (test/e2e/README.md): no pod of the
// Deployment ever runs, so "rolls the pods" is observed as the changed pod template (and its
// generation), and the `helm test` hook (a curl pod) cannot run here.
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { helm, type HelmResult } from '../helpers/helm.js';
import { startRegistry } from '../helpers/registry.js';
import type { TestRegistry } from '../helpers/registry.js';
import { seedStandardFixtures } from '../helpers/registry-fixtures.js';
import { CLI, ensureWebhookBuilt, freePort, ManagedProcess, REPO_ROOT, startCluster, waitFor } from './harness/index.js';
import { httpsGet } from './harness/https-get.js';
import type { Cluster, KubectlResult } from './harness/index.js';

t.setTimeout(20 * 60_000);

const CHART = join(REPO_ROOT, 'charts/backoff-guard');
const RELEASE = 'guard';
const RELEASE_NS = 'backoff-guard';
const FULLNAME = 'guard-backoff-guard';
const APP_NS = 'e2e-helm';
const WEBHOOK = 'validate.backoff-guard.io';
const example = (name: string) => join(REPO_ROOT, 'examples', name);

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function show(r: HelmResult | KubectlResult): string {
  return `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

// ---------------------------------------------------------------------------------------------
// One control plane (with an audit log of every delete) and one registry for the whole file.

const dir = mkdtempSync(join(tmpdir(), 'bg-e2e-helm-'));
const auditLog = join(dir, 'audit.log');
const auditPolicy = join(dir, 'audit-policy.yaml');
writeFileSync(
  auditPolicy,
  stringify({
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    omitStages: ['RequestReceived'],
    rules: [{ level: 'Metadata', verbs: ['delete', 'deletecollection'] }, { level: 'None' }],
  }),
);

const setupStart = Date.now();
const cluster: Cluster = await startCluster({
  dir: join(dir, 'cluster'),
  log: (l) => t.comment(l),
  apiserverArgs: [`--audit-policy-file=${auditPolicy}`, `--audit-log-path=${auditLog}`, '--audit-log-format=json'],
});
t.teardown(async () => {
  const keep = !t.passing();
  if (keep) t.comment(`e2e helm failed: logs kept in ${dir}`);
  await cluster.stop({ keep });
  if (!keep && !process.env.BACKOFF_GUARD_E2E_KEEP) rmSync(dir, { recursive: true, force: true });
});
const reg: TestRegistry = await startRegistry({ auth: 'none' });
t.teardown(() => reg.stop());
await seedStandardFixtures(reg);
await cluster.ensureNamespace(RELEASE_NS);
await cluster.ensureNamespace(APP_NS);
t.comment(`control plane and registry up in ${Date.now() - setupStart} ms (${cluster.url})`);

const kube = { kubeconfig: cluster.kubeconfig };

/**
 * The values of this test. Only two are not what a user would set: the webhook's registry
 * lookups go to the loopback test registry (no test traffic leaves the machine), and the
 * certificate also names 127.0.0.1 (tls.extraIPAddresses), because step 4 points the API server
 * at a url on 127.0.0.1 and it checks the certificate against the host it dials.
 */
const installValues = [
  '--set-json',
  `config.registry.hosts=${JSON.stringify({
    'docker.io': { server: reg.url, caFile: reg.caFile, allowPrivateNetwork: true },
    [reg.host]: { caFile: reg.caFile, allowPrivateNetwork: true },
  })}`,
  '--set-json',
  'tls.extraIPAddresses=["127.0.0.1"]',
];

async function getJson(args: string[]): Promise<Obj> {
  const r = await cluster.kubectlOk(['get', ...args, '-o', 'json']);
  return JSON.parse(r.stdout) as Obj;
}
const vwcJson = () => getJson(['validatingwebhookconfiguration', FULLNAME]);
const secretJson = () => getJson(['secret', '-n', RELEASE_NS, `${FULLNAME}-tls`]);
const deploymentJson = () => getJson(['deployment', '-n', RELEASE_NS, FULLNAME]);

/** What the release owns, as `kubectl get` names them. */
const RELEASE_OBJECTS: Array<[string, string[]]> = [
  ['validatingwebhookconfiguration', [FULLNAME]],
  ['clusterrole', [FULLNAME]],
  ['clusterrolebinding', [FULLNAME]],
  ['deployment', ['-n', RELEASE_NS, FULLNAME]],
  ['service', ['-n', RELEASE_NS, FULLNAME]],
  ['configmap', ['-n', RELEASE_NS, FULLNAME]],
  ['secret', ['-n', RELEASE_NS, `${FULLNAME}-tls`]],
  ['serviceaccount', ['-n', RELEASE_NS, FULLNAME]],
  ['poddisruptionbudget', ['-n', RELEASE_NS, FULLNAME]],
];

function auditLines(): string[] {
  return readFileSync(auditLog, 'utf8').split('\n').filter(Boolean);
}
let auditSeen = 0;
/** The deletes of the release's objects logged since `auditSeen`, in the order they completed. */
function releaseDeletes(): Array<{ resource: string; name: string; code: number }> {
  return auditLines()
    .slice(auditSeen)
    .map((l) => JSON.parse(l) as Obj)
    .filter((e) => e.verb === 'delete' && e.stage === 'ResponseComplete' && e.objectRef?.name?.startsWith(FULLNAME))
    .map((e) => ({ resource: e.objectRef.resource as string, name: e.objectRef.name as string, code: e.responseStatus?.code as number }));
}

let installedCaBundle = '';
let installedCert = '';
let firstChecksum = '';

t.test('1. helm install creates every object; PDB policy/v1beta1 for 1.20; caBundle = the generated CA', async (t) => {
  const r = await helm(['install', RELEASE, CHART, '--namespace', RELEASE_NS, ...installValues], kube);
  t.equal(r.code, 0, show(r));
  t.match(r.stdout, /STATUS: deployed/);
  t.match(r.stdout, /REVISION: 1/);
  t.match(r.stdout, /TLS: a new CA and serving certificate were generated into the Secret guard-backoff-guard-tls/, 'NOTES: first install generated them');
  for (const [kind, args] of RELEASE_OBJECTS) {
    const got = await cluster.kubectl(['get', kind, ...args, '-o', 'name']);
    t.equal(got.code, 0, `${kind} ${args.at(-1)} exists: ${show(got)}`);
  }
  const manifest = await helm(['get', 'manifest', RELEASE, '--namespace', RELEASE_NS], kube);
  t.equal(manifest.code, 0, show(manifest));
  t.match(manifest.stdout, /apiVersion: policy\/v1beta1\nkind: PodDisruptionBudget/, 'the 1.20 server gets policy/v1beta1 (.Capabilities.KubeVersion v1.20.2)');
  t.notMatch(manifest.stdout, /apiVersion: policy\/v1\n/);

  const vwc = await vwcJson();
  const secret = await secretJson();
  installedCaBundle = vwc.webhooks[0].clientConfig.caBundle;
  installedCert = secret.data['tls.crt'];
  t.ok(installedCaBundle.length > 100, 'the caBundle is set');
  t.equal(installedCaBundle, secret.data['ca.crt'], "the caBundle is the Secret's ca.crt");
  t.same(vwc.webhooks[0].clientConfig.service, { name: FULLNAME, namespace: RELEASE_NS, path: '/validate', port: 443 });
  const cert = new X509Certificate(Buffer.from(installedCert, 'base64'));
  t.ok(cert.verify(new X509Certificate(Buffer.from(installedCaBundle, 'base64')).publicKey), 'the certificate is signed by the caBundle');
  t.ok(cert.checkHost(`${FULLNAME}.${RELEASE_NS}.svc`), 'for the Service name the API server dials');
  firstChecksum = (await deploymentJson()).spec.template.metadata.annotations['checksum/config'];
  t.match(firstChecksum, /^[0-9a-f]{64}$/);
  const hooks = await helm(['get', 'hooks', RELEASE, '--namespace', RELEASE_NS], kube);
  t.match(hooks.stdout, /helm\.sh\/hook: pre-delete/, 'the pre-delete hook is stored with the release');
  const pending = await cluster.kubectl(['get', 'validatingwebhookconfigurations', '-o', 'name']);
  t.equal(pending.stdout.trim(), `validatingwebhookconfiguration.admissionregistration.k8s.io/${FULLNAME}`, 'one webhook configuration: the hook copy is not created at install');
});

t.test('2. helm upgrade with the same values keeps the CA, the certificate and the caBundle', async (t) => {
  const r = await helm(['upgrade', RELEASE, CHART, '--namespace', RELEASE_NS, '--reuse-values'], kube);
  t.equal(r.code, 0, show(r));
  t.match(r.stdout, /REVISION: 2/);
  t.notMatch(r.stdout, /a new CA and serving certificate were generated/);
  const vwc = await vwcJson();
  const secret = await secretJson();
  t.equal(vwc.webhooks[0].clientConfig.caBundle, installedCaBundle, 'same caBundle before and after');
  t.equal(secret.data['ca.crt'], installedCaBundle, 'same CA');
  t.equal(secret.data['tls.crt'], installedCert, 'same certificate');
  t.equal((await deploymentJson()).spec.template.metadata.annotations['checksum/config'], firstChecksum, 'same config: the pods are not rolled');
});

t.test('3. helm upgrade with a changed config changes the ConfigMap and the checksum/config of the pod template', async (t) => {
  const before = await deploymentJson();
  const r = await helm(['upgrade', RELEASE, CHART, '--namespace', RELEASE_NS, '--reuse-values', '--set', 'config.admission.budgetMs=2500'], kube);
  t.equal(r.code, 0, show(r));
  t.match(r.stdout, /REVISION: 3/);
  const cm = await getJson(['configmap', '-n', RELEASE_NS, FULLNAME]);
  t.equal((parse(cm.data['config.yaml']) as Obj).admission.budgetMs, 2500, 'the ConfigMap holds the new value');
  const after = await deploymentJson();
  const checksum = after.spec.template.metadata.annotations['checksum/config'];
  t.not(checksum, firstChecksum, 'the checksum/config annotation changed');
  t.equal(after.metadata.generation, before.metadata.generation + 1, 'the pod template changed: the Deployment controller rolls out a new ReplicaSet');
  t.equal((await vwcJson()).webhooks[0].clientConfig.caBundle, installedCaBundle, 'still the same caBundle');
});

t.test("4. the chart's own config and certificate serve the webhook: the seed pods are denied through the installed configuration", async (t) => {
  await ensureWebhookBuilt();
  const cm = await getJson(['configmap', '-n', RELEASE_NS, FULLNAME]);
  const secret = await secretJson();
  const work = join(dir, 'served');
  mkdirSync(work, { recursive: true });
  const certFile = join(work, 'tls.crt');
  const keyFile = join(work, 'tls.key');
  writeFileSync(certFile, Buffer.from(secret.data['tls.crt'], 'base64'));
  writeFileSync(keyFile, Buffer.from(secret.data['tls.key'], 'base64'), { mode: 0o600 });
  // The rendered config.yaml as it is, except where the pod's file system and network differ
  // from this process's: the listen address and port, and the paths of the mounted Secret.
  const config = parse(cm.data['config.yaml']) as Obj;
  t.same(config.server.tls, { certFile: '/etc/backoff-guard/tls/tls.crt', keyFile: '/etc/backoff-guard/tls/tls.key', generateDevCertificates: false });
  const port = await freePort();
  config.server.host = '127.0.0.1';
  config.server.port = port;
  config.server.tls.certFile = certFile;
  config.server.tls.keyFile = keyFile;
  const configFile = join(work, 'config.yaml');
  writeFileSync(configFile, stringify(config));
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', POD_NAMESPACE: RELEASE_NS };
  delete env.KUBERNETES_SERVICE_HOST;
  // --kubeconfig stands in for the pod's service account (the API server has no token controller
  // here): the webhook reads namespace labels as it would in the cluster.
  const proc = new ManagedProcess({
    name: 'backoff-guard serve (chart config)',
    command: process.execPath,
    args: [CLI, 'serve', '--config', configFile, '--kubeconfig', cluster.kubeconfig],
    logFile: join(work, 'backoff-guard.log'),
    cwd: REPO_ROOT,
    env,
  });
  t.teardown(() => proc.stop());
  const caPem = Buffer.from(secret.data['ca.crt'], 'base64').toString();
  await waitFor('backoff-guard /readyz with the chart certificate', async () => (await httpsGet(`https://127.0.0.1:${port}/readyz`, { ca: caPem }, 2000)).status === 200, {
    timeoutMs: 30_000,
    intervalMs: 200,
    proc,
  });
  t.pass(`serving on https://127.0.0.1:${port}, verified against the chart's CA`);

  // Only the clientConfig's target changes: service -> url. The caBundle stays the rendered one.
  const patch = [
    { op: 'remove', path: '/webhooks/0/clientConfig/service' },
    { op: 'add', path: '/webhooks/0/clientConfig/url', value: `https://127.0.0.1:${port}/validate` },
  ];
  const before = await vwcJson();
  await cluster.kubectlOk(['patch', 'validatingwebhookconfiguration', FULLNAME, '--type=json', '-p', JSON.stringify(patch)]);
  const after = await vwcJson();
  t.equal(after.webhooks[0].clientConfig.caBundle, installedCaBundle, 'the rendered caBundle is kept');
  const strip = (w: Obj) => ({ ...w, clientConfig: { caBundle: w.clientConfig.caBundle } });
  t.same(strip(after.webhooks[0]), strip(before.webhooks[0]), 'nothing else of the webhook changed');

  // The API server picks the change up asynchronously: wait until a dry run is denied.
  let last: KubectlResult | undefined;
  await waitFor('the API server to call the patched webhook', async () => {
    last = await cluster.kubectl(['apply', '--dry-run=server', '-n', APP_NS, '-f', example('pod-typo-in-name.yaml')]);
    return last.code !== 0 && last.stderr.includes(`admission webhook "${WEBHOOK}" denied the request`);
  }, { timeoutMs: 30_000, intervalMs: 500, proc }).catch((err: Error) => {
    throw new Error(`${err.message}\nlast kubectl: ${last ? show(last) : 'none'}\nwebhook log:\n${proc.tail()}`);
  });

  const typo = await cluster.kubectl(['apply', '-n', APP_NS, '-f', example('pod-typo-in-name.yaml')]);
  t.equal(typo.code, 1, show(typo));
  t.match(typo.stderr, new RegExp(`Error from server \\(Forbidden\\): error when creating ".*pod-typo-in-name\\.yaml": admission webhook "${WEBHOOK.replace(/\./g, '\\.')}" denied the request: `));
  t.match(typo.stderr, /ngiinx/, 'names the misspelled image');
  t.match(typo.stderr, /\bnginx\b/, 'suggests nginx');
  const crash = await cluster.kubectl(['apply', '-n', APP_NS, '-f', example('pod-crashloopbackoff.yaml')]);
  t.equal(crash.code, 1, show(crash));
  t.match(crash.stderr, `admission webhook "${WEBHOOK}" denied the request: `);
  t.match(crash.stderr, 'executable file not found in $PATH', "quotes the runtime's words");
  const ok = await cluster.kubectl(['apply', '-n', APP_NS, '-f', example('pod-ok.yaml')]);
  t.equal(ok.code, 0, `a good pod is admitted: ${show(ok)}`);
  const pods = await cluster.kubectlOk(['get', 'pods', '-n', APP_NS, '-o', 'name']);
  t.notMatch(pods.stdout, /typo-in-name|crashloopbackoff/, 'neither seed pod was created');

  // The denials are the webhook's own (its log, one JSON line per denied review).
  const denied = proc.log().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Obj).filter((l) => l.allowed === false && l.namespace === APP_NS);
  t.ok(denied.some((l) => l.name === 'typo-in-name'), 'the webhook logged the typo-in-name denial');
  t.ok(denied.some((l) => l.name === 'crashloopbackoff'), 'the webhook logged the crashloopbackoff denial');
  t.equal(config.admission.budgetMs, 2500, 'served with the config of the last upgrade');
});

t.test('5. helm uninstall removes everything, the webhook configuration first', async (t) => {
  const r = await helm(['uninstall', RELEASE, '--namespace', RELEASE_NS], kube);
  t.equal(r.code, 0, show(r));
  t.match(r.stdout, /release "guard" uninstalled/);
  for (const [kind, args] of RELEASE_OBJECTS) {
    const got = await cluster.kubectl(['get', kind, ...args, '-o', 'name']);
    t.equal(got.code, 1, `${kind} ${args.at(-1)} is gone`);
    t.match(got.stderr, /NotFound/);
  }
  const left = await cluster.kubectlOk(['get', 'all,configmaps,secrets,serviceaccounts,poddisruptionbudgets', '-n', RELEASE_NS, '-l', `app.kubernetes.io/instance=${RELEASE}`, '-o', 'name']);
  t.equal(left.stdout.trim(), '', 'nothing labelled with the release is left in its namespace');
  const releases = await cluster.kubectlOk(['get', 'secrets', '-n', RELEASE_NS, '-l', 'owner=helm', '-o', 'name']);
  t.equal(releases.stdout.trim(), '', "helm's release records are gone");
  const vwcs = await cluster.kubectlOk(['get', 'validatingwebhookconfigurations', '-o', 'name']);
  t.equal(vwcs.stdout.trim(), '', 'no webhook configuration left (neither the release one nor the hook copy)');
  const list = await helm(['list', '--all-namespaces', '--all', '-q'], kube);
  t.equal(list.stdout.trim(), '', 'helm list is empty');

  // The order, from the API server's audit log (one JSON line per completed delete).
  const deletes = releaseDeletes();
  auditSeen = auditLines().length;
  t.comment(`deletes in order: ${deletes.map((d) => `${d.resource}/${d.name} ${d.code}`).join(', ')}`);
  t.ok(deletes.length >= RELEASE_OBJECTS.length, `${deletes.length} deletes logged`);
  t.same(deletes[0], { resource: 'validatingwebhookconfigurations', name: FULLNAME, code: 200 }, 'the first delete is the webhook configuration (pre-delete hook, before-hook-creation)');
  const firstOther = deletes.findIndex((d) => d.resource !== 'validatingwebhookconfigurations');
  const service = deletes.findIndex((d) => d.resource === 'services');
  const deployment = deletes.findIndex((d) => d.resource === 'deployments');
  t.ok(firstOther > 0 && service >= firstOther && deployment >= firstOther, 'the Service and the Deployment go only after it');
  t.ok(deletes.slice(0, firstOther).some((d) => d.code === 200), 'deleted while the Service still existed');

  // And the cluster no longer calls it: the typo pod is now admitted (no webhook at all).
  const typo = await cluster.kubectl(['apply', '--dry-run=server', '-n', APP_NS, '-f', example('pod-typo-in-name.yaml')]);
  t.equal(typo.code, 0, `no webhook, nothing denied: ${show(typo)}`);
  t.notMatch(typo.stderr, /failed calling webhook/);
});

t.test("6. why the hook: helm uninstall --no-hooks deletes in Helm's own order, the webhook configuration last", async (t) => {
  const inst = await helm(['install', RELEASE, CHART, '--namespace', RELEASE_NS, ...installValues], kube);
  t.equal(inst.code, 0, show(inst));
  const r = await helm(['uninstall', RELEASE, '--namespace', RELEASE_NS, '--no-hooks'], kube);
  t.equal(r.code, 0, show(r));
  const deletes = releaseDeletes();
  t.comment(`--no-hooks deletes in order: ${deletes.map((d) => `${d.resource}/${d.name} ${d.code}`).join(', ')}`);
  const service = deletes.findIndex((d) => d.resource === 'services');
  const vwc = deletes.findIndex((d) => d.resource === 'validatingwebhookconfigurations');
  t.ok(service >= 0 && vwc > service, 'without the hook the Service goes first and the webhook configuration after it');
  t.equal(vwc, deletes.length - 1, 'last of all (a kind missing from UninstallOrder)');
  const vwcs = await cluster.kubectlOk(['get', 'validatingwebhookconfigurations', '-o', 'name']);
  t.equal(vwcs.stdout.trim(), '', 'gone in the end either way');
});

t.test('7. helm template --kube-version 1.20.2 | kubectl apply (the GitOps way): the API server accepts every object', async (t) => {
  const ns = 'bg-gitops';
  await cluster.ensureNamespace(ns);
  // --skip-tests: the `helm test` pod is a hook for `helm test`, not part of the install.
  const rendered = await helm(['template', 'gitops', CHART, '--namespace', ns, '--kube-version', '1.20.2', '--skip-tests']);
  t.equal(rendered.code, 0, show(rendered));
  const applied = await cluster.kubectl(['apply', '-f', '-'], { input: rendered.stdout });
  t.equal(applied.code, 0, show(applied));
  t.match(applied.stdout, /poddisruptionbudget\.policy\/gitops-backoff-guard created/);
  t.match(applied.stdout, /validatingwebhookconfiguration\.admissionregistration\.k8s\.io\/gitops-backoff-guard (created|configured)/);
  // Both documents of the webhook configuration (the release's and its pre-delete copy) are the
  // same object with the same webhooks: applying the second changes nothing the API server uses.
  const docs = rendered.stdout.split(/^---$/m).map((d) => parse(d) as Obj | null).filter((d): d is Obj => d?.kind === 'ValidatingWebhookConfiguration');
  t.equal(docs.length, 2);
  const live = await getJson(['validatingwebhookconfiguration', 'gitops-backoff-guard']);
  const secret = await getJson(['secret', '-n', ns, 'gitops-backoff-guard-tls']);
  t.equal(live.webhooks.length, 1);
  t.equal(live.webhooks[0].clientConfig.caBundle, secret.data['ca.crt'], 'the caBundle matches the Secret applied with it');
  t.same(live.webhooks[0].rules, docs[0]!.webhooks[0].rules);
  t.same(live.webhooks[0].clientConfig.service, { name: 'gitops-backoff-guard', namespace: ns, path: '/validate', port: 443 });

  const deleted = await cluster.kubectl(['delete', '-f', '-', '--ignore-not-found'], { input: rendered.stdout });
  t.equal(deleted.code, 0, show(deleted));
  const vwcs = await cluster.kubectlOk(['get', 'validatingwebhookconfigurations', '-o', 'name']);
  t.equal(vwcs.stdout.trim(), '');
});
