// End-to-end: LeaseElector against a real kube-apiserver v1.20.2 + etcd (issue 13).
// Two candidates on one Lease: exactly one leads; a release hands over promptly; a leader that
// vanishes without releasing is replaced once its lease expires; a candidate that cannot reach
// the API server never believes it leads.
import t from 'tap';
import { KubeConfig } from '@kubernetes/client-node';
import { LeaseElector } from '../../src/kube/lease.js';
import { clusterForTest, freePort } from './harness/index.js';

t.setTimeout(20 * 60_000);

const NS = 'lease-e2e';
const DURATION = 3;

const { cluster, kc } = await clusterForTest(t, NS);


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms: number): Promise<number> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) return -1;
    await sleep(25);
  }
  return Date.now() - start;
}

async function leaseSpec(name: string): Promise<Record<string, unknown>> {
  const r = await cluster.kubectlOk(['get', 'leases.coordination.k8s.io', name, '-n', NS, '-o', 'json']);
  return (JSON.parse(r.stdout) as { spec: Record<string, unknown> }).spec;
}

t.test('two candidates: exactly one leader; release hands over promptly', async (t) => {
  const changes: string[] = [];
  const a = new LeaseElector({ kc, namespace: NS, name: 'one', identity: 'a', durationSeconds: DURATION, onChange: (l) => changes.push(`a:${l}`) });
  const b = new LeaseElector({ kc, namespace: NS, name: 'one', identity: 'b', durationSeconds: DURATION, onChange: (l) => changes.push(`b:${l}`) });
  a.start();
  b.start();
  t.teardown(async () => {
    await a.stop();
    await b.stop();
  });
  t.not(await until(() => a.isLeader() || b.isLeader(), 10_000), -1, 'someone leads');
  // Over two renew periods, never both.
  let both = 0;
  let none = 0;
  for (let i = 0; i < 40; i++) {
    if (a.isLeader() && b.isLeader()) both++;
    if (!a.isLeader() && !b.isLeader()) none++;
    await sleep(50);
  }
  t.equal(both, 0, 'never two leaders at once');
  t.equal(none, 0, 'the leader keeps renewing');
  const [leader, other] = a.isLeader() ? [a, b] : [b, a];
  const leaderId = leader === a ? 'a' : 'b';
  const spec = await leaseSpec('one');
  t.equal(spec.holderIdentity, leaderId, 'the Lease names the leader');
  t.equal(spec.leaseDurationSeconds, DURATION);
  t.match(spec.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'renewTime is a MicroTime');
  t.equal(leader.lastError, undefined);
  t.equal(other.lastError, undefined, 'losing the race is not an error');

  const t0 = Date.now();
  await leader.stop();
  t.equal(leader.isLeader(), false);
  const otherId = other === a ? 'a' : 'b';
  t.ok(['', otherId].includes(String((await leaseSpec('one')).holderIdentity ?? '')), 'released (or already taken by the other)');
  const took = await until(() => other.isLeader(), 5_000);
  t.not(took, -1, 'the other leads after the release');
  const handover = Date.now() - t0;
  t.ok(handover < DURATION * 1000, `handover after release in ${handover} ms, under the lease duration`);
  t.comment(`handover after release: ${handover} ms`);
  const after = await leaseSpec('one');
  t.equal(after.holderIdentity, other === a ? 'a' : 'b');
  t.ok((after.leaseTransitions as number) >= 1, 'leaseTransitions counted the handover');
  t.same(changes.slice(0, 1), [`${leaderId}:true`], 'onChange told the first leader');
  t.ok(changes.includes(`${leaderId}:false`) && changes.includes(`${other === a ? 'a' : 'b'}:true`), 'onChange told both of the handover');
});

t.test('a leader that vanishes without release is replaced after the lease expires', async (t) => {
  const a = new LeaseElector({ kc, namespace: NS, name: 'two', identity: 'a', durationSeconds: DURATION });
  a.start();
  t.not(await until(() => a.isLeader(), 10_000), -1, 'a leads alone');
  const b = new LeaseElector({ kc, namespace: NS, name: 'two', identity: 'b', durationSeconds: DURATION });
  b.start();
  t.teardown(async () => {
    await a.stop();
    await b.stop();
  });
  await sleep(DURATION * 1000 + 500);
  t.equal(b.isLeader(), false, 'b does not take a lease that is being renewed');
  t.equal(a.isLeader(), true);

  const t0 = Date.now();
  await a.abandon();
  t.equal((await leaseSpec('two')).holderIdentity, 'a', 'abandon() left the lease held');
  const retryMs = Math.floor((DURATION * 1000) / 3);
  const took = await until(() => b.isLeader(), DURATION * 1000 + retryMs + 2_000);
  const takeover = Date.now() - t0;
  t.not(took, -1, 'b took over');
  t.ok(takeover <= DURATION * 1000 + retryMs + 200, `takeover in ${takeover} ms <= duration ${DURATION * 1000} ms + one retry period ${retryMs} ms (+200 ms slack)`);
  t.comment(`takeover after a vanished leader: ${takeover} ms (lease ${DURATION * 1000} ms, retry ${retryMs} ms)`);
  t.equal((await leaseSpec('two')).holderIdentity, 'b');
});

t.test('cannot tell: an unreachable API server leaves the candidate a follower with lastError', async (t) => {
  const port = await freePort();
  const dead = new KubeConfig();
  dead.loadFromOptions({
    clusters: [{ name: 'dead', server: `https://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'x' }],
    contexts: [{ name: 'dead', cluster: 'dead', user: 'u' }],
    currentContext: 'dead',
  });
  const changes: boolean[] = [];
  const c = new LeaseElector({ kc: dead, namespace: NS, name: 'three', identity: 'c', durationSeconds: 1, onChange: (l) => changes.push(l) });
  c.start();
  t.teardown(() => c.stop());
  t.not(await until(() => c.lastError !== undefined, 5_000), -1, 'lastError is set');
  t.match(c.lastError, /cannot be reached/);
  await sleep(800);
  t.equal(c.isLeader(), false);
  t.same(changes, [], 'never became leader');
  await c.stop();
  t.equal(c.isLeader(), false, 'stop() with nothing held does not throw');
});
