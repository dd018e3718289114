// End-to-end: WorkloadEvents against a real kube-apiserver v1.20.2 + etcd (issue 13): a Warning
// Event on a Deployment made with kubectl, read back with kubectl; the note limit; failures as
// results, never thrown.
import t from 'tap';
import { KubeConfig } from '@kubernetes/client-node';
import { REPORTING_CONTROLLER, WorkloadEvents } from '../../src/kube/events.js';
import { clusterForTest, freePort, impersonating } from './harness/index.js';

t.setTimeout(20 * 60_000);

const NS = 'events-e2e';

const { cluster, kc } = await clusterForTest(t, NS);
await cluster.apply({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: NS },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'example.invalid/web:1' }] } },
  },
});
const dep = JSON.parse((await cluster.kubectlOk(['get', 'deployment', 'web', '-n', NS, '-o', 'json'])).stdout) as {
  metadata: { uid: string };
};
const ref = { kind: 'Deployment', apiVersion: 'apps/v1', namespace: NS, name: 'web', uid: dep.metadata.uid };

const events = new WorkloadEvents(kc, 'backoff-guard-0');

interface Ev {
  metadata: { name: string };
  type: string;
  reason: string;
  note: string;
  action: string;
  reportingController: string;
  reportingInstance: string;
  eventTime: string;
  regarding: Record<string, string>;
}
async function readEvents(): Promise<Ev[]> {
  const r = await cluster.kubectlOk(['get', 'events.v1.events.k8s.io', '-n', NS, '-o', 'json']);
  return (JSON.parse(r.stdout) as { items: Ev[] }).items;
}

t.test('a Warning regarding the Deployment, read back with kubectl', async (t) => {
  const r = await events.warn(ref, 'ImageBackOffRisk', 'image example.invalid/web:1 cannot be pulled', 'Audit');
  t.equal(r.ok, true, JSON.stringify(r));
  const ev = (await readEvents()).find((e) => r.ok && e.metadata.name === r.name);
  t.ok(ev, 'the Event is there');
  if (!ev) return;
  t.equal(ev.type, 'Warning');
  t.equal(ev.reason, 'ImageBackOffRisk');
  t.equal(ev.note, 'image example.invalid/web:1 cannot be pulled');
  t.equal(ev.action, 'Audit');
  t.equal(ev.reportingController, REPORTING_CONTROLLER);
  t.equal(ev.reportingInstance, 'backoff-guard-0');
  t.match(ev.eventTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'eventTime is a MicroTime');
  t.match(ev.regarding, ref, 'regarding is the Deployment, uid included');
});

t.test('a note over 1024 bytes is cut to 1024 and accepted', async (t) => {
  const long = 'x'.repeat(1000) + 'é'.repeat(100);
  const r = await events.warn(ref, 'LongNote', long, 'Audit');
  t.equal(r.ok, true, JSON.stringify(r));
  const ev = (await readEvents()).find((e) => r.ok && e.metadata.name === r.name);
  t.ok(ev);
  if (!ev) return;
  t.equal(Buffer.byteLength(ev.note, 'utf8'), 1024, 'exactly 1024 bytes');
  t.ok(long.startsWith(ev.note), 'a prefix of the note, no broken character');
});

t.test('failures are results, not exceptions', async (t) => {
  const missing = await events.warn({ ...ref, namespace: 'no-such-namespace' }, 'X', 'y', 'Audit');
  t.same(missing, { ok: false, reason: 'the namespace does not exist' });

  // RBAC is on (--authorization-mode=RBAC): the admin impersonates a user with no grants.
  const nobody = impersonating(kc, 'nobody@example.invalid');
  const forbidden = await new WorkloadEvents(nobody, 'x').warn(ref, 'X', 'y', 'Audit');
  t.same(forbidden, { ok: false, reason: 'forbidden (the service account needs create on events.events.k8s.io)' });

  const port = await freePort();
  const dead = new KubeConfig();
  dead.loadFromOptions({
    clusters: [{ name: 'dead', server: `https://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'x' }],
    contexts: [{ name: 'dead', cluster: 'dead', user: 'u' }],
    currentContext: 'dead',
  });
  const unreachable = await new WorkloadEvents(dead, 'x').warn(ref, 'X', 'y', 'Audit');
  t.equal(unreachable.ok, false);
  t.match(unreachable, { reason: /cannot be reached/ });
});
