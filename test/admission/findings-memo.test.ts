// The memo of definite findings: what makes two reviews "the same", what is never remembered,
// and how the watched ports notice a "cannot tell". The ports here are plain functions returning
// the answers under test (the facts providers have their own suites against real servers).
import t from 'tap';
import { FindingsMemo } from '../../src/admission/findings-memo.js';
import { handleReview, type ReviewDeps } from '../../src/admission/handle-review.js';
import { reviewFor } from '../../src/admission/review.js';
import { extractWorkload, workloadHead } from '../../src/admission/pod-specs.js';
import { loadConfig } from '../../src/config/load.js';
import type { CheckPorts, ImageLookup } from '../../src/checks/ports.js';
import type { Check, Finding, WorkloadUnderReview } from '../../src/checks/types.js';
import { parseReference } from '../../src/image/reference.js';
import { deploymentObject, podObject } from '../helpers/workloads.js';

const workload = (obj: Record<string, unknown>, kind = 'Deployment') => extractWorkload(kind, obj) as WorkloadUnderReview;
const app = deploymentObject([{ name: 'app', image: 'registry.example/app:1.0', command: ['/app'] }]);
const none = new Set<string>();
const finding = (certainty: Finding['certainty']): Finding => ({ checkId: 'x', container: 'app', certainty, message: 'm' });

t.test('the key: identical templates match whatever their name; anything the checks read changes it', async (t) => {
  const memo = new FindingsMemo({ ttlMs: 1000, maxEntries: 10 });
  const w = workload(app);
  const key = memo.key(w, w.containers, none);
  const renamed = workload({ ...app, metadata: { name: 'other', namespace: 'default' } });
  t.equal(memo.key(renamed, renamed.containers, none), key, 'the name is not read by any check');
  const annotated = workload({ ...app, metadata: { name: 'demo', namespace: 'default', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"json"}' } } });
  t.equal(memo.key(annotated, annotated.containers, none), key, 'nor are annotations (the skip annotation counts as the skipped set)');
  const otherImage = workload(deploymentObject([{ name: 'app', image: 'registry.example/app:1.1', command: ['/app'] }]));
  t.not(memo.key(otherImage, otherImage.containers, none), key, 'image');
  const otherNs = workload({ ...app, metadata: { name: 'demo', namespace: 'prod' } });
  t.not(memo.key(otherNs, otherNs.containers, none), key, 'namespace (pull secrets, config maps)');
  const asPod = workload(podObject([{ name: 'app', image: 'registry.example/app:1.0', command: ['/app'] }]), 'Pod');
  t.not(memo.key(asPod, asPod.containers, none), key, 'kind (messages and rules differ)');
  t.not(memo.key(w, [], none), key, 'containers under review (UPDATE)');
  t.not(memo.key(w, w.containers, new Set(['probes'])), key, 'skipped checks');
  // The review keys on the head alone (no container model): the same key as the whole model's.
  t.equal(memo.key(workloadHead('Deployment', app)!, 'all', none), key, "the head's key, every container under review");
  const pair = deploymentObject([{ name: 'a', image: 'registry.example/a:1' }, { name: 'b', image: 'registry.example/b:1' }]);
  const pairModel = workload(pair);
  const pairHead = workloadHead('Deployment', pair)!;
  t.equal(memo.key(pairHead, [pairModel.containers[1]!], none), memo.key(pairModel, [pairModel.containers[1]!], none), 'an UPDATE of one container: the same key from the head as from the model');
  t.not(memo.key(pairHead, [pairModel.containers[1]!], none), memo.key(pairHead, 'all', none), 'and not the key of the whole template');
});

t.test('a spec too deeply nested to serialise has no key (it is checked, never remembered)', async (t) => {
  const memo = new FindingsMemo({ ttlMs: 1000, maxEntries: 10 });
  let deep: unknown = [];
  for (let i = 0; i < 20_000; i++) deep = [deep];
  const w = workload(deploymentObject([{ name: 'app', image: 'registry.example/app:1.0', securityContext: deep as Record<string, unknown> }]));
  t.equal(memo.key(w, w.containers, none), undefined);
});

t.test('only definite answers are remembered', async (t) => {
  const memo = new FindingsMemo({ ttlMs: 1000, maxEntries: 10 });
  const signal = new AbortController().signal;
  t.equal(memo.remember('a', [finding('certain')], 0, signal), true, 'a deny');
  t.equal(memo.remember('b', [], 0, signal), true, 'a clean allow');
  t.equal(memo.remember('c', [finding('unverified')], 0, signal), false, 'a "could not verify" finding');
  t.equal(memo.remember('d', [], 1, signal), false, 'a check cut by the deadline');
  t.same(memo.get('a'), [finding('certain')]);
  t.equal(memo.get('c'), undefined);
});

t.test('entries expire after the TTL; a TTL of 0 turns the memo off', async (t) => {
  let now = 1000;
  const memo = new FindingsMemo({ ttlMs: 500, maxEntries: 10, now: () => now });
  memo.remember('a', [], 0, new AbortController().signal);
  now += 499;
  t.same(memo.get('a'), []);
  now += 2;
  t.equal(memo.get('a'), undefined);
  const off = new FindingsMemo({ ttlMs: 0, maxEntries: 10 });
  t.equal(off.enabled, false);
  t.equal(off.remember('a', [], 0, new AbortController().signal), false);
});

t.test('watched ports: a "cannot tell" from any provider makes that review unmemorable', async (t) => {
  const ref = parseReference('registry.example/app:1.0');
  const lookups: Record<string, ImageLookup> = {
    found: { status: 'found', registry: 'registry.example' },
    missing: { status: 'not-found', registry: 'registry.example', what: 'tag', suggestions: [], source: 'registry' },
    down: { status: 'unreachable', registry: 'registry.example', reason: 'refused the connection' },
    limited: { status: 'rate-limited', registry: 'registry.example' },
  };
  const cases: Array<[string, (p: CheckPorts, s: AbortSignal) => Promise<unknown>, boolean]> = [
    ['image found', (p, s) => p.images.lookup(parseReference('registry.example/found:1'), s), false],
    ['image missing (certain)', (p, s) => p.images.lookup(parseReference('registry.example/missing:1'), s), false],
    ['registry unreachable', (p, s) => p.images.lookup(parseReference('registry.example/down:1'), s), true],
    ['rate limited', (p, s) => p.images.lookup(parseReference('registry.example/limited:1'), s), true],
    ['image config unknown', (p, s) => p.inspector!.config(ref, 'amd64', s), true],
    ['file index unknown', (p, s) => p.inspector!.files(ref, 'amd64', s), true],
    ['config map unknown', (p, s) => p.objects!.configMap('ns', 'cm', s), true],
    ['config map missing (certain)', (p, s) => p.objects!.secret('ns', 's', s), false],
    ['pull secrets unreadable', (p, s) => p.pullSecrets!.forWorkload({ kind: 'Pod', imagePullSecrets: [] }, s), true],
    ['no Kubernetes API at all (lasting: the answer cannot change)', (p, s) => p.pullSecrets!.forWorkload({ kind: 'Pod', namespace: 'lasting', imagePullSecrets: [] }, s), false],
    ['nodes unlisted', (p, s) => p.nodeImages!.presence(ref, s), true],
    ['a provider that throws', (p, s) => p.nodeArchitectures!(s).catch(() => undefined), true],
  ];
  const ports: CheckPorts = {
    images: { lookup: async (r) => lookups[r.path]! },
    inspector: { config: async () => ({ status: 'unknown', reason: 'r' }), files: async () => ({ status: 'unknown', reason: 'r' }) },
    objects: { configMap: async () => ({ status: 'unknown', reason: 'r' }), secret: async () => ({ status: 'missing' }) },
    pullSecrets: {
      forWorkload: async (q) => ({ known: false, reason: 'forbidden', ...(q.namespace === 'lasting' ? { lasting: true } : {}), from: 'none', names: [], missing: [], ignored: [], invalid: [], credentialsFor: () => [] }),
    },
    nodeImages: { presence: async () => undefined },
    nodeArchitectures: async () => {
      throw new Error('boom');
    },
  };
  for (const [name, call, uncertain] of cases) {
    const memo = new FindingsMemo({ ttlMs: 1000, maxEntries: 10 });
    const watched = memo.watch(ports);
    const signal = new AbortController().signal;
    await call(watched, signal);
    t.equal(memo.remember('k', [], 0, signal), !uncertain, name);
    t.equal(memo.remember('k2', [], 0, new AbortController().signal), true, `${name}: another review is not affected`);
  }
});

t.test('handleReview: an identical template is answered from the memo; a "cannot tell" run is asked again', async (t) => {
  const config = loadConfig({ document: { kubernetes: { enabled: 'off' } } });
  let runs = 0;
  let registryUp = true;
  // A check that asks the image port, so the memo sees what the facts said.
  const exists: Check<CheckPorts> = {
    id: 'image-exists',
    description: 'counting',
    async run(input, ports) {
      runs++;
      const r = await ports.images.lookup(input.image!, input.signal);
      return r.status === 'not-found' ? [{ checkId: 'image-exists', container: input.target.container.name, certainty: 'certain', message: 'missing' }] : [];
    },
  };
  const ports: CheckPorts = {
    images: {
      lookup: async (ref) =>
        registryUp
          ? ref.tag === 'gone'
            ? { status: 'not-found', registry: ref.domain, what: 'tag', suggestions: [], source: 'registry' }
            : { status: 'found', registry: ref.domain }
          : { status: 'unreachable', registry: ref.domain, reason: 'refused the connection' },
    },
  };
  const memo = new FindingsMemo({ ttlMs: 10_000, maxEntries: 10 });
  const deps: ReviewDeps = { policy: config.admission, checks: [exists], ports: memo.watch(ports), memo };
  const review = (image: string, name = 'demo') => reviewFor({ ...deploymentObject([{ name: 'app', image }]), metadata: { name, namespace: 'default' } });
  const signal = () => AbortSignal.timeout(2000);

  const first = await handleReview(review('registry.example/app:gone'), signal(), deps);
  const again = review('registry.example/app:gone', 'other');
  const second = await handleReview(again, signal(), deps);
  t.equal(runs, 1, 'the second identical template ran no check');
  t.equal(first.response.response.allowed, false);
  t.same(second.response.response.status, first.response.response.status, 'same denial');
  t.notOk(first.memoized);
  t.equal(second.memoized, true);
  t.equal(second.response.response.uid, again.request.uid, 'answered with its own uid');

  registryUp = false;
  await handleReview(review('registry.example/app:2.0'), signal(), deps);
  await handleReview(review('registry.example/app:2.0'), signal(), deps);
  t.equal(runs, 3, 'a registry that could not be asked is asked again next time');
});

t.test('handleReview from the head: an UPDATE shares the memo only when it changes every container', async (t) => {
  const config = loadConfig({ document: { kubernetes: { enabled: 'off' } } });
  const checked: string[] = [];
  const exists: Check<CheckPorts> = {
    id: 'image-exists',
    description: 'records what it checks',
    async run(input) {
      checked.push(input.target.container.name);
      return input.image?.tag === 'gone' ? [{ checkId: 'image-exists', container: input.target.container.name, certainty: 'certain', message: 'missing' }] : [];
    },
  };
  const memo = new FindingsMemo({ ttlMs: 10_000, maxEntries: 10 });
  const deps: ReviewDeps = { policy: config.admission, checks: [exists], ports: memo.watch({ images: { lookup: async (ref) => ({ status: 'found', registry: ref.domain }) } }), memo };
  const signal = () => AbortSignal.timeout(2000);
  const two = (a: string, b: string) => deploymentObject([{ name: 'a', image: a }, { name: 'b', image: b }]);
  const update = (object: Record<string, unknown>, oldObject: Record<string, unknown>) => reviewFor(object, { operation: 'UPDATE', oldObject });

  const created = await handleReview(reviewFor(two('r.example/a:gone', 'r.example/b:1')), signal(), deps);
  t.equal(created.response.response.allowed, false, 'CREATE: checked and denied');
  t.same(checked, ['a', 'b']);

  checked.length = 0;
  const allChanged = await handleReview(update(two('r.example/a:gone', 'r.example/b:1'), two('r.example/a:0', 'r.example/b:0')), signal(), deps);
  t.equal(allChanged.memoized, true, "an UPDATE changing both containers is the CREATE's review");
  t.equal(allChanged.response.response.allowed, false);
  t.same(checked, [], 'no check ran');

  const oneChanged = await handleReview(update(two('r.example/a:gone', 'r.example/b:1'), two('r.example/a:gone', 'r.example/b:0')), signal(), deps);
  t.notOk(oneChanged.memoized, 'an UPDATE changing one container is another review');
  t.equal(oneChanged.response.response.allowed, true, 'the unchanged missing image is not held against it');
  t.same(checked, ['b'], 'only the changed container was checked');

  const unchanged = await handleReview(update(two('r.example/a:gone', 'r.example/b:1'), two('r.example/a:gone', 'r.example/b:1')), signal(), deps);
  t.equal(unchanged.skipped, 'no container changed');

  const empty = await handleReview(reviewFor(deploymentObject([])), signal(), deps);
  t.equal(empty.skipped, 'no container changed', 'a template without containers is allowed unchecked, memo or not');
  t.equal(empty.response.response.allowed, true);
});
