// End-to-end, issue 13: the audit loop inside `backoff-guard serve` against a real kube-apiserver
// v1.20.2 and a real htpasswd registry: GET /audit and the workload image status metric on the
// plain-HTTP metrics port, a tag deleted through the registry API and pushed back, measured in
// passes of a 1 s interval. The workloads come from informers (list once, then watch): a
// Deployment created or changed while serve runs is in the next pass without a relist.
import t from 'tap';
import { join } from 'node:path';
import { deleteManifest, pushImage } from '../helpers/registry-fixtures.js';
import { freePort, startAuditWorld, startWebhook } from './harness/index.js';
import { httpGet } from './harness/https-get.js';

t.setTimeout(10 * 60_000);

const PASSWORD = 'e2e-audit-serve-5';
const NS = 'audit-serve';
const { cluster, reg, cred, pushed, deployment } = await startAuditWorld(t, { namespace: NS, password: PASSWORD, images: [{ repo: 'team/app', tag: '1.0' }] });
const app = pushed['team/app:1.0']!;
await cluster.apply(deployment('web', `${reg.host}/team/app:1.0`));

const LEASE_S = 3;
const metricsPort = await freePort();
const webhook = await startWebhook({
  dir: join(cluster.dir, 'webhook-audit'),
  kubeconfig: cluster.kubeconfig,
  registryHosts: { [reg.host]: { caFile: reg.caFile, allowPrivateNetwork: true } },
  extraConfig: { audit: { enabled: true, intervalSeconds: 1, jitter: 0, lease: { durationSeconds: LEASE_S } }, metrics: { host: '127.0.0.1', port: metricsPort } },
});
t.teardown(() => webhook.stop());
// The metrics port of the process that scans (the second one after the takeover test).
let base = `http://127.0.0.1:${metricsPort}`;
const root = t;

type Audit = { at: string; workloads: number; lookups: number; images: Array<{ namespace: string; kind: string; name: string; container: string; image: string; status: string; detail: string }> };
async function auditUntil(pred: (a: Audit) => boolean, timeoutMs = 30_000): Promise<{ audit: Audit; ms: number }> {
  const start = Date.now();
  for (;;) {
    const r = await httpGet(`${base}/audit`).catch(() => ({ status: 0, body: '' }));
    if (r.status === 200) {
      const a = JSON.parse(r.body) as Audit;
      if (pred(a)) return { audit: a, ms: Date.now() - start };
    }
    if (Date.now() - start > timeoutMs) throw new Error(`GET /audit never matched in ${timeoutMs} ms (last: ${r.status} ${r.body.slice(0, 400)})`);
    await new Promise((res) => setTimeout(res, 200));
  }
}
type Event = { type: string; reason: string; note: string; reportingController: string; regarding: { kind: string; name: string; namespace: string } };
async function imageEvents(): Promise<Event[]> {
  const r = await cluster.kubectlOk(['get', 'events.v1.events.k8s.io', '-n', NS, '-o', 'json']);
  return (JSON.parse(r.stdout) as { items: Event[] }).items.filter((e) => e.reason === 'ImageUnavailable');
}
const webStatus = (a: Audit) => a.images.find((i) => i.kind === 'Deployment' && i.name === 'web' && i.namespace === NS)?.status;
const series = (status: string) =>
  `backoff_guard_workload_image_status{namespace="${NS}",kind="Deployment",name="web",container="app",image="${reg.host}/team/app:1.0",status="${status}"} 1`;

t.test('the running Deployment is audited: available in /audit and in the metric', async (t) => {
  const { audit } = await auditUntil((a) => webStatus(a) === 'available');
  t.equal(audit.lookups >= 1, true);
  const m = await httpGet(`${base}/metrics`);
  t.equal(m.status, 200);
  t.ok(m.body.includes(series('available')), 'backoff_guard_workload_image_status{...,status="available"} 1');
  t.match(m.body, /backoff_guard_audit_passes_total\{result="ok"\} [1-9]/);
  const onWebhookPort = await httpGet(`${base.replace(String(metricsPort), String(webhook.port))}/audit`).catch((e: Error) => ({ status: -1, body: e.message }));
  t.not(onWebhookPort.status, 200, 'GET /audit is not on the webhook port');
});

t.test('tag deleted through the registry API: absent within one interval, logged once; pushed back: available', async (t) => {
  await deleteManifest(reg, { repo: 'team/app', digest: app.digest, credential: cred });
  const { audit, ms } = await auditUntil((a) => webStatus(a) === 'absent');
  t.comment(`measured: absent in /audit ${ms} ms after the delete (interval 1 s)`);
  t.ok(ms <= 5_000, `within a few intervals (${ms} ms)`);
  t.match(audit.images.find((i) => i.name === 'web')?.detail, /has no manifest 1\.0 in team\/app with secret audit-serve\/regcred/);
  const m = await httpGet(`${base}/metrics`);
  t.ok(m.body.includes(series('absent')), 'metric turned absent');
  t.notOk(m.body.includes(series('available')), 'the available series is gone');
  // Three more passes: still one warning line for this failure.
  const at = audit.at;
  await auditUntil((a) => a.at !== at && webStatus(a) === 'absent');
  await new Promise((res) => setTimeout(res, 2500));
  const events = await imageEvents();
  t.equal(events.length, 1, 'one ImageUnavailable Event on the Deployment while the state holds');
  t.match(events[0], { type: 'Warning', reason: 'ImageUnavailable', reportingController: 'backoff-guard.io/audit', regarding: { kind: 'Deployment', name: 'web', namespace: NS } });
  t.match(events[0]?.note, new RegExp(`^app: ${reg.host.replace(/\./g, '\\.')}/team/app:1\\.0 can no longer be pulled \\(absent: .*ImagePullBackOff: push the image again`));
  const warned = webhook.logLines().filter((l) => typeof l.msg === 'string' && (l.msg as string).includes('can no longer be pulled') && l.workload === 'Deployment/web');
  t.equal(warned.length, 1, 'one ImageUnavailable report while the state holds');
  await pushImage(reg, { repo: 'team/app', tag: '1.0', credential: cred });
  await auditUntil((a) => webStatus(a) === 'available');
  await new Promise((res) => setTimeout(res, 1500));
  t.equal(webhook.logLines().filter((l) => typeof l.msg === 'string' && (l.msg as string).includes('can no longer be pulled')).length, 1, 'no new report when it is back');
  t.equal((await imageEvents()).length, 1, 'no new Event when it is back');
});

t.test('informers: a Deployment created, changed and deleted while serve runs is audited without a relist', async (t) => {
  await cluster.apply(deployment('late', `${reg.host}/team/app:1.0`));
  const late = (a: Audit) => a.images.find((i) => i.name === 'late' && i.namespace === NS);
  const added = await auditUntil((a) => late(a)?.status === 'available');
  t.comment(`measured: a new Deployment in /audit ${added.ms} ms after kubectl apply (interval 1 s)`);
  await cluster.kubectlOk(['set', 'image', 'deployment/late', `app=${reg.host}/team/app:9.9`, '-n', NS]);
  const changed = await auditUntil((a) => late(a)?.image === `${reg.host}/team/app:9.9`);
  t.equal(late(changed.audit)?.status, 'absent', 'the changed image is looked up: there is no 9.9');
  await cluster.kubectlOk(['delete', 'deployment', 'late', '-n', NS]);
  const gone = await auditUntil((a) => late(a) === undefined);
  t.equal(gone.audit.images.filter((i) => i.name === 'web').length, 1, 'the other workloads stay');
  const warned = webhook.logLines().filter((l) => l.msg === 'workload informer failed; relisting with backoff');
  t.equal(warned.length, 0, 'no informer failure on the way');
});

t.test('two serve processes: only the Lease holder scans; kill -9 it and the other takes over within the Lease duration', async (t) => {
  const port2 = await freePort();
  const second = await startWebhook({
    dir: join(cluster.dir, 'webhook-audit-2'),
    kubeconfig: cluster.kubeconfig,
    registryHosts: { [reg.host]: { caFile: reg.caFile, allowPrivateNetwork: true } },
    extraConfig: { audit: { enabled: true, intervalSeconds: 1, jitter: 0, lease: { durationSeconds: LEASE_S } }, metrics: { host: '127.0.0.1', port: port2 } },
  });
  root.teardown(() => second.stop());
  const leaderOf = async (p: number): Promise<number> => {
    const m = await httpGet(`http://127.0.0.1:${p}/metrics`).catch(() => ({ status: 0, body: '' }));
    const v = /^backoff_guard_audit_leader (\d+)/m.exec(m.body);
    return v ? Number(v[1]) : -1;
  };
  const passes = async (p: number): Promise<number> => {
    const m = await httpGet(`http://127.0.0.1:${p}/metrics`).catch(() => ({ status: 0, body: '' }));
    const v = /^backoff_guard_audit_passes_total\{result="ok"\} (\d+)/m.exec(m.body);
    return v ? Number(v[1]) : 0;
  };
  await new Promise((res) => setTimeout(res, 2500));
  t.same([await leaderOf(metricsPort), await leaderOf(port2)], [1, 0], 'the first process holds the Lease, the second waits');
  const before = await passes(port2);
  await new Promise((res) => setTimeout(res, 2500));
  t.equal(await passes(port2), before, 'the follower does not scan');
  const killedAt = Date.now();
  webhook.proc.killNow();
  let tookOver = 0;
  while (Date.now() - killedAt < 30_000) {
    if ((await leaderOf(port2)) === 1 && (await passes(port2)) > before) {
      tookOver = Date.now() - killedAt;
      break;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  t.comment(`measured: takeover (Lease acquired and first pass done) ${tookOver} ms after kill -9 of the holder (Lease ${LEASE_S} s)`);
  t.ok(tookOver > 0 && tookOver <= LEASE_S * 1000 + 2000, `within the Lease duration plus one retry period (${tookOver} ms)`);
  base = `http://127.0.0.1:${port2}`;
});

t.test('1,000 Deployments over 50 images: 50 lookups per pass in serve (informers on the new holder)', async (t) => {
  const SCALE = 'audit-scale';
  await cluster.ensureNamespace(SCALE);
  const r = await cluster.kubectlOk(['create', 'secret', 'docker-registry', 'regcred', '-n', SCALE, `--docker-server=${reg.host}`, '--docker-username=alice', `--docker-password=${PASSWORD}`]);
  t.equal(r.code, 0);
  for (let i = 0; i < 50; i++) await pushImage(reg, { repo: 'team/scale', tag: `t${i}`, credential: cred });
  const items = Array.from({ length: 1000 }, (_, i) => deployment(`w${i}`, `${reg.host}/team/scale:t${i % 50}`, SCALE));
  await cluster.kubectlOk(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) });
  const scaled = (a: Audit) => a.images.filter((i) => i.namespace === SCALE);
  const { audit } = await auditUntil((a) => scaled(a).length === 1000 && scaled(a).every((i) => i.status === 'available'), 180_000);
  const a = audit as Audit & { requests: number };
  t.equal(new Set(scaled(a).map((i) => i.image)).size, 50);
  t.equal(a.lookups, 51, '50 images of audit-scale + the one of web: one lookup each, whatever the number of workloads');
  t.equal(a.requests, 51, 'one HEAD per lookup');
  t.comment(`measured: ${a.workloads} workloads (1,000 over 50 images + web) -> ${a.lookups} lookups and ${a.requests} HEADs per pass`);
});
