// End-to-end: WorkloadInformers against a real kube-apiserver v1.20.2 + etcd (issue 13). The
// informers list each kind once and then follow the watch: objects made with kubectl appear,
// change and disappear; CronJob falls back to batch/v1beta1 (1.20 serves no batch/v1 CronJob);
// stored objects are trimmed; an API server that cannot be reached fails the snapshot with the
// reason ("cannot tell"), and the informers recover by themselves once it answers (through a
// real TCP relay started late on the port the kubeconfig names).
import t from 'tap';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { WorkloadInformers } from '../../src/kube/workload-informers.js';
import { clusterForTest, freePort, impersonating } from './harness/index.js';

t.setTimeout(20 * 60_000);

const NS = 'informers-e2e';
const { cluster, kc } = await clusterForTest(t, NS);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(fn: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await sleep(50);
  }
}
const dep = (name: string, image: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: NS, annotations: { note: 'x'.repeat(2000) } },
  spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image }] } } },
});
const imageOf = (o: KubernetesObject) => (o as { spec?: { template?: { spec?: { containers?: Array<{ image: string }> } } } }).spec?.template?.spec?.containers?.[0]?.image;

await cluster.apply([
  dep('before', 'example.invalid/a:1'),
  { apiVersion: 'batch/v1beta1', kind: 'CronJob', metadata: { name: 'nightly', namespace: NS }, spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'job', image: 'example.invalid/b:1' }] } } } } } },
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'owned', namespace: NS, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: '00000000-0000-0000-0000-000000000009', controller: true }] }, spec: { containers: [{ name: 'c', image: 'example.invalid/c:1' }] } },
]);

t.test('list, then watch: kubectl create, set image and delete are seen; objects trimmed', async (t) => {
  const seen: string[] = [];
  const inf = new WorkloadInformers({ kc, namespace: NS, onChange: (kind, verb, o) => seen.push(`${verb} ${kind}/${o.metadata?.name}`) });
  t.teardown(() => inf.stop());
  await inf.start();
  t.ok(inf.synced, 'every kind listed');
  const first = await inf.snapshot();
  const names = first.map((w) => `${w.apiVersion} ${w.kind}/${w.name}`).sort();
  t.same(names, ['apps/v1 Deployment/before', 'batch/v1beta1 CronJob/nightly'], 'CronJob through batch/v1beta1; the ReplicaSet-owned pod left out');
  const stored = first.find((w) => w.name === 'before')!.object as KubernetesObject & { status?: unknown };
  t.equal(stored.metadata?.annotations, undefined, 'annotations dropped (last-applied-configuration is the biggest part)');
  t.equal(stored.metadata?.managedFields, undefined, 'managedFields dropped');
  t.equal(stored.status, undefined, 'status dropped');
  t.equal(imageOf(stored), 'example.invalid/a:1', 'the pod template kept');

  await cluster.apply(dep('after', 'example.invalid/a:2'));
  const added = await until(async () => (await inf.snapshot()).find((w) => w.name === 'after'));
  t.equal(imageOf(added.object), 'example.invalid/a:2');
  t.equal((added.object as KubernetesObject).metadata?.annotations, undefined, 'an object from the watch is trimmed too');
  await cluster.kubectlOk(['set', 'image', 'deployment/after', 'app=example.invalid/a:3', '-n', NS]);
  await until(async () => ((await inf.snapshot()).find((w) => w.name === 'after' && imageOf(w.object) === 'example.invalid/a:3') ? true : undefined));
  await cluster.kubectlOk(['delete', 'deployment', 'after', '-n', NS]);
  await until(async () => ((await inf.snapshot()).some((w) => w.name === 'after') ? undefined : true));
  t.ok(seen.includes('add Deployment/after') && seen.includes('update Deployment/after') && seen.includes('delete Deployment/after'), 'add, update and delete arrived through the watch');
  t.equal(seen.filter((s) => s === 'add Deployment/before').length, 1, 'the initial list adds each object once');
});

t.test('cannot tell: an API server that does not answer fails the snapshot with the reason; the informers recover when it answers', async (t) => {
  const port = await freePort();
  const real = new URL(kc.getCurrentCluster()!.server);
  const relayed = new KubeConfig();
  relayed.loadFromOptions({
    clusters: kc.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${port}`, skipTLSVerify: true, caData: undefined, caFile: undefined })),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  const errors: string[] = [];
  const inf = new WorkloadInformers({ kc: relayed, namespace: NS, backoffMs: 100, maxBackoffMs: 400, onError: (kind) => errors.push(kind) });
  t.teardown(() => inf.stop());
  await inf.start();
  t.equal(inf.synced, false);
  await t.rejects(inf.snapshot(), /cannot list Deployment \(apps\/v1\): .*ECONNREFUSED/, 'the pass fails with the reason instead of reporting an empty cluster');
  t.ok(errors.length >= 1, 'the failure is reported');

  // A plain TCP relay to the real API server appears on the port: the retries succeed.
  const sockets = new Set<Socket>();
  const relay: Server = createServer((client) => {
    const upstream = connect(Number(real.port), real.hostname);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((r) => relay.listen(port, '127.0.0.1', () => r()));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => relay.close(() => r()));
  });
  const recovered = await until(async () => (inf.synced ? await inf.snapshot() : undefined));
  t.same(recovered.map((w) => w.name).sort(), ['before', 'nightly'], 'listed once the API server answers');
});

t.test('forbidden: a user without list rights is named in the failure', async (t) => {
  const nobody = impersonating(kc, 'nobody@example.invalid');
  const inf = new WorkloadInformers({ kc: nobody, namespace: NS, backoffMs: 60_000 });
  t.teardown(() => inf.stop());
  await t.rejects(inf.snapshot(), /cannot list Deployment \(apps\/v1\): .*(403|[Ff]orbidden)/);
});
