// Issue 12, admission.skipCheckedTemplates: a Pod whose ReplicaSet (or Job) template was reviewed
// clean within the memo's TTL is allowed unchecked, here or on another replica (shared cache on a
// real redis-server); anything short of a clean, definite review of the whole template leaves
// the Pod to be checked. Reviews go through the real engine against a real registry.
import t from 'tap';
import { pino } from 'pino';
import { CheckedTemplates, ownerTemplateOf, templateOf } from '../../src/admission/checked-templates.js';
import { reviewFor } from '../../src/admission/review.js';
import { loadConfig } from '../../src/config/load.js';
import { createEngine } from '../../src/engine.js';
import type { RequestEvent } from '../../src/registry/transport.js';
import { startRedis } from '../helpers/redis.js';
import { pushImage } from '../helpers/registry-fixtures.js';
import { startRegistry } from '../helpers/registry.js';
import { rolloutReviews } from '../helpers/rollout.js';

t.setTimeout(120_000);

t.test('which template a ReplicaSet or Job stands for, and which one a Pod came from', async (t) => {
  const r = rolloutReviews('registry.example/app:1');
  t.same(templateOf('ReplicaSet', r.replicaSet.request.object), { uid: 'web-5d8f7c6b9-uid', hash: '5d8f7c6b9' });
  t.same(ownerTemplateOf(r.pod.request.object), { uid: 'web-5d8f7c6b9-uid', hash: '5d8f7c6b9' }, 'the Pod names the same template');
  t.equal(templateOf('Deployment', r.deployment.request.object), undefined, 'a Deployment makes ReplicaSets, not Pods');
  t.equal(ownerTemplateOf(r.deployment.request.object), undefined);
  t.same(templateOf('Job', { metadata: { uid: 'job-1' } }), { uid: 'job-1', hash: '' });
  t.same(ownerTemplateOf({ metadata: { ownerReferences: [{ kind: 'Job', uid: 'job-1', controller: true }] } }), { uid: 'job-1', hash: '' });
  t.equal(templateOf('ReplicaSet', { metadata: { uid: 'rs-1' } }), undefined, 'a ReplicaSet without pod-template-hash: no key');
  t.equal(ownerTemplateOf({ metadata: { ownerReferences: [{ kind: 'ReplicaSet', uid: 'rs-1', controller: false }], labels: { 'pod-template-hash': 'h' } } }), undefined, 'an owner that is not the controller');
  t.equal(ownerTemplateOf({ metadata: { ownerReferences: [{ kind: 'StatefulSet', uid: 's', controller: true }] } }), undefined, 'StatefulSet pods differ per ordinal: not covered');
  t.equal(ownerTemplateOf({ metadata: { ownerReferences: 'x' } }), undefined, 'garbage is no key');
});

t.test('remembered for the TTL only; a TTL of 0 is off', async (t) => {
  let now = 0;
  const c = new CheckedTemplates({ ttlMs: 1000, maxEntries: 10, now: () => now });
  const k = { uid: 'u', hash: 'h' };
  t.equal(await c.checked(k), false);
  c.remember(k);
  t.equal(await c.checked(k), true);
  t.equal(await c.checked({ uid: 'u', hash: 'other' }), false, 'another template of the same uid');
  now = 1001;
  t.equal(await c.checked(k), false, 'expired');
  t.equal(new CheckedTemplates({ ttlMs: 0, maxEntries: 10 }).enabled, false);
});

const reg = await startRegistry({ auth: 'none' });
t.teardown(() => reg.stop());
await pushImage(reg, { repo: 'team/app', tag: '1.0' });
const redis = await startRedis();
t.teardown(() => redis.stop());

async function replica(extra: { skip?: boolean; shared?: boolean } = {}) {
  const config = loadConfig({
    document: {
      kubernetes: { enabled: 'off' },
      admission: { budgetMs: 10_000, skipCheckedTemplates: extra.skip ?? true },
      registry: { timeoutMs: 1000, hosts: { [reg.host]: { caFile: reg.caFile, allowPrivateNetwork: true }, '127.0.0.1:9': { allowPrivateNetwork: true } } },
      ...(extra.shared ? { sharedCache: { url: redis.url, callBudgetMs: 1000 } } : {}),
    },
  });
  const requests: RequestEvent[] = [];
  const engine = await createEngine(config, { logger: pino({ level: 'silent' }), namespaceLabels: null, onRegistryRequest: (e) => void requests.push(e) });
  t.teardown(() => engine.close());
  return { engine, requests };
}
const review = (r: Awaited<ReturnType<typeof replica>>, req: ReturnType<typeof rolloutReviews>['pod']) => r.engine.review(req, AbortSignal.timeout(20_000));
const SKIPPED = /pod template was reviewed clean within cache\.reviewTtlMs \(admission\.skipCheckedTemplates\)/;

t.test('on: the Pod of a ReplicaSet reviewed clean is allowed without a check or a registry request', async (t) => {
  const a = await replica();
  const r = rolloutReviews(`${reg.host}/team/app:1.0`, { name: 'clean' });
  const rs = await review(a, r.replicaSet);
  t.equal(rs.response.response.allowed, true);
  t.same(rs.findings, []);
  const before = a.requests.length;
  const pod = await review(a, r.pod);
  t.equal(pod.response.response.allowed, true);
  t.match(pod.skipped, SKIPPED);
  t.equal(a.requests.length, before, 'no registry request for the Pod');
});

t.test('off (the default): the same Pod is checked', async (t) => {
  const a = await replica({ skip: false });
  const r = rolloutReviews(`${reg.host}/team/app:1.0`, { name: 'off' });
  await review(a, r.replicaSet);
  const pod = await review(a, r.pod);
  t.equal(pod.skipped, undefined);
  t.equal(pod.response.response.allowed, true);
});

t.test('failing: a ReplicaSet with a missing image is not "checked": its Pod is denied on its own', async (t) => {
  const a = await replica();
  const r = rolloutReviews(`${reg.host}/team/app:9.9`, { name: 'missing' });
  t.equal((await review(a, r.replicaSet)).response.response.allowed, false);
  const pod = await review(a, r.pod);
  t.equal(pod.skipped, undefined);
  t.equal(pod.response.response.allowed, false, 'the Pod is checked and denied');
});

t.test('cannot tell: a ReplicaSet whose registry did not answer is not "checked": its Pod is checked again', async (t) => {
  const a = await replica();
  const r = rolloutReviews('127.0.0.1:9/team/app:1.0', { name: 'unreachable' });
  const rs = await review(a, r.replicaSet);
  t.equal(rs.response.response.allowed, true, 'fail open');
  t.ok((rs.response.response.warnings ?? []).length > 0, 'with a "could not verify" warning');
  const pod = await review(a, r.pod);
  t.equal(pod.skipped, undefined);
  t.ok((pod.response.response.warnings ?? []).length > 0, 'the Pod gets its own warning');
});

t.test('the trade-off, as documented: a container added to the Pod only (a mutating webhook\'s sidecar) is not checked', async (t) => {
  const a = await replica();
  const r = rolloutReviews(`${reg.host}/team/app:1.0`, { name: 'sidecar' });
  await review(a, r.replicaSet);
  const pod = r.pod;
  const obj = pod.request.object as { spec: { containers: Array<{ name: string; image: string }> } };
  obj.spec.containers.push({ name: 'injected', image: `${reg.host}/team/absent:1` });
  const res = await review(a, reviewFor(obj as unknown as Record<string, unknown>));
  t.match(res.skipped, SKIPPED, 'allowed unchecked: why the flag is off by default');
});

t.test('across replicas (shared cache): the ReplicaSet reviewed on one, its Pod on another, costs the second nothing', async (t) => {
  const a = await replica({ shared: true });
  const b = await replica({ shared: true });
  const r = rolloutReviews(`${reg.host}/team/app:1.0`, { name: 'spread', hash: 'abc123' });
  await review(a, r.replicaSet);
  let pod;
  for (let i = 0; i < 50 && !(pod = await review(b, r.pod)).skipped; i++) await new Promise((res) => setTimeout(res, 20)); // the store is asynchronous
  t.match(pod?.skipped, SKIPPED);
  const c = await replica({ shared: false });
  t.equal((await review(c, r.pod)).skipped, undefined, 'a replica without the shared cache checks it');
});
