// End-to-end: what a person sees after `kubectl apply`, through a real kube-apiserver v1.20.2
// + etcd, the real kubectl binary, a real registry, and `backoff-guard serve` over HTTPS,
// registered with the chart's own webhook definition (charts/backoff-guard/files/webhook.yaml).
// One control plane for the whole file; the cases of issue 3 are subtests, in order.
//
// First run on a machine: builds kube-apiserver (about 5-7 minutes, cached afterwards).
import t from 'tap';
import { join } from 'node:path';
import { startRegistry } from '../helpers/registry.js';
import type { TestRegistry } from '../helpers/registry.js';
import { deleteManifest, pushImage, seedStandardFixtures } from '../helpers/registry-fixtures.js';
import { freePort, REPO_ROOT, registerBackoffGuard, startCluster, startWebhook } from './harness/index.js';
import type { Cluster, KubectlResult, WebhookServer } from './harness/index.js';

// Generous: the first run builds kube-apiserver; later runs take well under a minute.
t.setTimeout(20 * 60_000);

const WEBHOOK = 'validate.backoff-guard.io';
const DENIED = `admission webhook "${WEBHOOK}" denied the request: `;
const NS = 'e2e';
const NS_DRY = 'e2e-dry-run';
const NS_WARN = 'e2e-warn';
const NS_OFF = 'e2e-off';
const example = (name: string) => join(REPO_ROOT, 'examples', name);
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** kubectl's line for a denied create: `Error from server (Forbidden): error when creating "<source>": admission webhook "..." denied the request: ` */
function deniedLine(source: string): RegExp {
  return new RegExp(`^${esc(`Error from server (Forbidden): error when creating "${source}": ${DENIED}`)}`, 'm');
}

/** The text after "denied the request: " (the webhook's own message), up to the end of kubectl's output. */
function denialMessage(r: KubectlResult): string {
  const i = r.stderr.indexOf(DENIED);
  return i < 0 ? '' : r.stderr.slice(i + DENIED.length).trim();
}

function warnings(r: KubectlResult): string[] {
  return r.stderr.split('\n').filter((l) => l.startsWith('Warning: '));
}

function show(r: KubectlResult): string {
  return `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

const podWith = (name: string, ns: string, image: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns },
  spec: { containers: [{ name: 'app', image, ...extra }] },
});

const template = (app: string, image: string) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: 'app', image }] },
});

// ---------------------------------------------------------------------------------------------
// One control plane, registry and webhook for the whole file.

let cluster: Cluster;
let reg: TestRegistry;
let webhook: WebhookServer;
let deadRegistry: string;

const setupStart = Date.now();
cluster = await startCluster({ log: (l) => t.comment(l) });
t.teardown(async () => {
  const keep = !t.passing();
  if (keep) t.comment(`e2e failed: logs kept in ${cluster.dir} (kube-apiserver.log, etcd.log, webhook/backoff-guard.log)`);
  await cluster.stop({ keep });
});
reg = await startRegistry({ auth: 'none' });
t.teardown(() => reg.stop());
await seedStandardFixtures(reg);
// Nothing listens here: "the registry cannot be reached".
deadRegistry = `127.0.0.1:${await freePort()}`;

await cluster.ensureNamespace(NS);
await cluster.ensureNamespace(NS_DRY);
await cluster.ensureNamespace(NS_WARN, { labels: { 'backoff-guard.io/mode': 'warn' } });
await cluster.ensureNamespace(NS_OFF, { labels: { 'backoff-guard.io/mode': 'off' } });

webhook = await startWebhook({
  dir: join(cluster.dir, 'webhook'),
  kubeconfig: cluster.kubeconfig,
  registry: { timeoutMs: 2500 },
  registryHosts: {
    // docker.io images (nginx, busybox, ngiinx ...) resolve against the test registry.
    'docker.io': { server: reg.url, caFile: reg.caFile, allowPrivateNetwork: true },
    [reg.host]: { caFile: reg.caFile, allowPrivateNetwork: true },
    [deadRegistry]: { allowPrivateNetwork: true },
  },
});
t.teardown(() => webhook.stop());
await registerBackoffGuard(cluster, webhook, NS);
t.comment(`control plane, registry and webhook up in ${Date.now() - setupStart} ms (${cluster.url}, webhook ${webhook.validateUrl})`);

// ---------------------------------------------------------------------------------------------

t.test('1. the seed pods are denied at kubectl apply, with the reason and the hint', async (t) => {
  const typo = await cluster.kubectl(['apply', '-n', NS, '-f', example('pod-typo-in-name.yaml')]);
  t.equal(typo.code, 1, show(typo));
  t.equal(typo.stdout, '');
  t.match(typo.stderr, deniedLine(example('pod-typo-in-name.yaml')));
  const typoMsg = denialMessage(typo);
  t.match(typoMsg, /ngiinx/, 'names the misspelled image');
  t.match(typoMsg, /\bnginx\b/, 'suggests nginx');

  const crash = await cluster.kubectl(['apply', '-n', NS, '-f', example('pod-crashloopbackoff.yaml')]);
  t.equal(crash.code, 1, show(crash));
  t.equal(crash.stdout, '');
  t.match(crash.stderr, deniedLine(example('pod-crashloopbackoff.yaml')));
  const crashMsg = denialMessage(crash);
  t.match(crashMsg, /exit/, 'names the command');
  t.match(crashMsg, 'executable file not found in $PATH', "quotes the runtime's words");

  const got = await cluster.kubectl(['get', 'pods', '-n', NS, '-o', 'name']);
  t.equal(got.code, 0, show(got));
  t.notMatch(got.stdout, /typo-in-name|crashloopbackoff/, 'neither pod was created');

  for (const file of ['deployment-typo-in-name.yaml', 'deployment-crashloopbackoff.yaml']) {
    const r = await cluster.kubectl(['apply', '-n', NS, '-f', example(file)]);
    t.equal(r.code, 1, `${file}: ${show(r)}`);
    t.match(r.stderr, deniedLine(example(file)), file);
  }
  t.match(denialMessage(await cluster.kubectl(['apply', '-n', NS, '-f', example('deployment-typo-in-name.yaml')])), /ngiinx/);
});

t.test('2. workloads with a missing image are denied at kubectl apply, not later as FailedCreate events', async (t) => {
  const missing = 'nginx:1.99.99';
  const objects = [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'missing-deploy', namespace: NS }, spec: { selector: { matchLabels: { app: 'missing-deploy' } }, template: template('missing-deploy', missing) } },
    { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'missing-sts', namespace: NS }, spec: { serviceName: 'missing-sts', selector: { matchLabels: { app: 'missing-sts' } }, template: template('missing-sts', missing) } },
    { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'missing-job', namespace: NS }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'app', image: missing }] } } } },
    // Kubernetes 1.20 serves CronJobs as batch/v1beta1 only.
    { apiVersion: 'batch/v1beta1', kind: 'CronJob', metadata: { name: 'missing-cron', namespace: NS }, spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'app', image: missing }] } } } } } },
    // The other kinds the chart's rules intercept.
    { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'missing-ds', namespace: NS }, spec: { selector: { matchLabels: { app: 'missing-ds' } }, template: template('missing-ds', missing) } },
    { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'missing-rc', namespace: NS }, spec: { selector: { app: 'missing-rc' }, template: template('missing-rc', missing) } },
  ];
  for (const obj of objects) {
    const r = await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(obj) });
    t.equal(r.code, 1, `${obj.kind}: ${show(r)}`);
    t.equal(r.stdout, '', `${obj.kind}: nothing created`);
    t.match(r.stderr, deniedLine('STDIN'), `${obj.kind}: denied by the webhook`);
    t.match(denialMessage(r), '1.99.99', `${obj.kind}: names the missing tag`);
  }
  const left = await cluster.kubectl(['get', 'deployments,statefulsets,jobs,cronjobs,daemonsets,replicationcontrollers,replicasets,pods', '-n', NS, '-o', 'name']);
  t.equal(left.code, 0, show(left));
  t.notMatch(left.stdout, /missing-/, 'nothing of them exists');
});

t.test('3. an unreachable registry admits with a Warning; a correct pod prints no warning', async (t) => {
  const image = `${deadRegistry}/team/app:1.0`;
  const r = await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(podWith('unreachable-registry', NS, image)) });
  t.equal(r.code, 0, show(r));
  t.equal(r.stdout, 'pod/unreachable-registry created\n');
  const w = warnings(r);
  t.ok(w.length >= 1, `a Warning: line\n${show(r)}`);
  t.match(w.join('\n'), deadRegistry, 'the warning names the registry');
  t.notMatch(r.stderr, DENIED);

  const ok = await cluster.kubectl(['apply', '-n', NS, '-f', example('pod-ok.yaml')]);
  t.equal(ok.code, 0, show(ok));
  t.equal(ok.stdout, 'pod/ok created\n');
  t.equal(ok.stderr, '', 'no warning at all');
  t.same(warnings(ok), []);
});

t.test('4. --dry-run=server gives the same verdict and creates nothing', async (t) => {
  const file = example('pod-typo-in-name.yaml');
  const real = await cluster.kubectl(['apply', '-n', NS_DRY, '-f', file]);
  const dry = await cluster.kubectl(['apply', '--dry-run=server', '-n', NS_DRY, '-f', file]);
  t.equal(dry.code, 1, show(dry));
  t.equal(real.code, 1, show(real));
  t.match(dry.stderr, deniedLine(file));
  t.equal(denialMessage(dry), denialMessage(real), 'the same message as without --dry-run');

  const okDry = await cluster.kubectl(['apply', '--dry-run=server', '-n', NS_DRY, '-f', example('pod-ok.yaml')]);
  t.equal(okDry.code, 0, show(okDry));
  t.equal(okDry.stdout, 'pod/ok created (server dry run)\n');
  t.equal(okDry.stderr, '');

  const unreachable = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], {
    input: JSON.stringify(podWith('unreachable-registry', NS_DRY, `${deadRegistry}/team/app:1.0`)),
  });
  t.equal(unreachable.code, 0, show(unreachable));
  t.equal(unreachable.stdout, 'pod/unreachable-registry created (server dry run)\n');
  t.ok(warnings(unreachable).length >= 1, 'the same Warning: line');

  const got = await cluster.kubectl(['get', 'pods', '-n', NS_DRY, '-o', 'name']);
  t.equal(got.code, 0, show(got));
  t.equal(got.stdout, '', 'nothing was created');
  const dryReviews = webhook.reviews().filter((r) => r.namespace === NS_DRY);
  t.ok(dryReviews.some((r) => r.name === 'ok'), 'the dry run reached the webhook');
});

t.test('5. kubectl set image to a typo is denied; scaling after the image was deleted is allowed', async (t) => {
  const web = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: NS }, spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: template('web', 'nginx:1.14.2') } };
  const created = await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(web) });
  t.equal(created.code, 0, show(created));
  t.equal(created.stdout, 'deployment.apps/web created\n');
  t.equal(created.stderr, '');

  const set = await cluster.kubectl(['set', 'image', '-n', NS, 'deployment/web', 'app=ngiinx:1.14.2']);
  t.equal(set.code, 1, show(set));
  t.match(set.stderr, new RegExp(`^${esc(`error: failed to patch image update to pod template: ${DENIED}`)}`, 'm'));
  t.match(denialMessage(set), /ngiinx/);
  const image = await cluster.kubectlOk(['get', 'deployment/web', '-n', NS, '-o', 'jsonpath={.spec.template.spec.containers[0].image}']);
  t.equal(image.stdout, 'nginx:1.14.2', 'the Deployment keeps its image');

  // An image that is deleted from the registry after the Deployment was admitted.
  const pushed = await pushImage(reg, { repo: 'team/scale-me', tag: '1.0' });
  const ref = `${reg.host}/team/scale-me:1.0`;
  const dep = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'scale-me', namespace: NS }, spec: { replicas: 1, selector: { matchLabels: { app: 'scale-me' } }, template: template('scale-me', ref) } };
  const made = await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify(dep) });
  t.equal(made.code, 0, show(made));
  t.equal(made.stdout, 'deployment.apps/scale-me created\n');
  await deleteManifest(reg, { repo: 'team/scale-me', digest: pushed.digest });

  const scaled = await cluster.kubectl(['scale', '-n', NS, 'deployment/scale-me', '--replicas=3']);
  t.equal(scaled.code, 0, show(scaled));
  t.equal(scaled.stdout, 'deployment.apps/scale-me scaled\n');
  t.notMatch(scaled.stderr, DENIED);

  // The same change as an UPDATE of the Deployment itself (which the webhook does review).
  const patched = await cluster.kubectl(['patch', '-n', NS, 'deployment/scale-me', '--type=merge', '-p', '{"spec":{"replicas":4}}']);
  t.equal(patched.code, 0, show(patched));
  t.equal(patched.stdout, 'deployment.apps/scale-me patched\n');
  t.notMatch(patched.stderr, DENIED);
  const update = webhook.reviews().filter((r) => r.name === 'scale-me' && r.operation === 'UPDATE');
  t.ok(update.length >= 1 && update.every((r) => r.allowed), 'the webhook reviewed the UPDATE and allowed it');
  const replicas = await cluster.kubectlOk(['get', 'deployment/scale-me', '-n', NS, '-o', 'jsonpath={.spec.replicas}']);
  t.equal(replicas.stdout, '4');
});

t.test('6. namespace modes: warn admits with Warning lines, off admits silently, kube-system is never checked', async (t) => {
  const file = example('pod-typo-in-name.yaml');
  const warn = await cluster.kubectl(['apply', '-n', NS_WARN, '-f', file]);
  t.equal(warn.code, 0, show(warn));
  t.equal(warn.stdout, 'pod/typo-in-name created\n');
  const w = warnings(warn);
  t.ok(w.length >= 1, `Warning: lines\n${show(warn)}`);
  t.match(w.join('\n'), /ngiinx/);
  t.notMatch(warn.stderr, DENIED);

  const crash = await cluster.kubectl(['apply', '-n', NS_WARN, '-f', example('pod-crashloopbackoff.yaml')]);
  t.equal(crash.code, 0, show(crash));
  t.match(warnings(crash).join('\n'), 'executable file not found in $PATH');

  const off = await cluster.kubectl(['apply', '-n', NS_OFF, '-f', file]);
  t.equal(off.code, 0, show(off));
  t.equal(off.stdout, 'pod/typo-in-name created\n');
  t.equal(off.stderr, '', 'silently');
  t.same(webhook.reviews().filter((r) => r.namespace === NS_OFF), [], 'the API server never called the webhook for it');

  const sys = await cluster.kubectl(['apply', '-n', 'kube-system', '-f', file]);
  t.equal(sys.code, 0, show(sys));
  t.equal(sys.stdout, 'pod/typo-in-name created\n');
  t.equal(sys.stderr, '', 'silently');
  t.ok(
    webhook.reviews().filter((r) => r.namespace === 'kube-system').every((r) => r.allowed),
    'whatever reached the webhook from kube-system was allowed',
  );
});

t.test('8. every review round-trips: same uid in the request, the response and the webhook log', async (t) => {
  const log = cluster.apiserverLog();
  t.notMatch(log, /failed calling webhook/i, 'no failed webhook call in the API server log');
  const { requestUids, responseUids } = cluster.admissionExchanges();
  t.ok(requestUids.length >= 20, `the API server logged the reviews it sent (${requestUids.length})`);
  t.same([...responseUids].sort(), [...requestUids].sort(), 'every request got a response with its own uid');
  const logged = webhook.reviews();
  const loggedUids = new Set(logged.map((r) => r.uid));
  t.same(requestUids.filter((u) => !loggedUids.has(u)), [], 'the webhook logged every uid it answered');
  t.same([...loggedUids].filter((u) => !requestUids.includes(u)), [], 'and no uid the API server did not send');
  const typo = logged.find((r) => r.namespace === NS && r.name === 'typo-in-name' && r.operation === 'CREATE');
  t.ok(typo, 'the seed pod review is in the webhook log');
  t.equal(typo?.allowed, false);
  t.match(String(typo?.kind ?? ''), /Pod/);
});

t.test('7. with the webhook stopped and failurePolicy Ignore, kubectl apply still succeeds', async (t) => {
  await webhook.stop();
  t.ok(webhook.proc.hasExited, `the webhook process is gone (${webhook.proc.describeExit()})`);
  const r = await cluster.kubectl(['apply', '-n', NS, '-f', example('pod-typo-in-name.yaml')]);
  t.equal(r.code, 0, show(r));
  t.equal(r.stdout, 'pod/typo-in-name created\n');
  t.notMatch(r.stderr, DENIED);
  // Proof that the API server did try: it fails open and says so.
  t.match(cluster.apiserverLog(), new RegExp(`failed calling webhook "${esc(WEBHOOK)}"`));
  t.match(cluster.apiserverLog(), /failing open/i);
});
