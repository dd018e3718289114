// Memory under churn, in a child process of its own (so its RSS is the webhook's alone): the
// webhook app (dist/app.js createApp: engine with its caches, registry client, metrics hooks)
// driven in-process through its engine, as the route calls it (src/http/server.ts: one
// Deadline per review, dist/admission/deadline.js, whose timer is cleared once the review is
// answered), without HTTP: 100k reviews over a socket take longer than the bench's time budget.
// Image lookups go to the real registry.
// Not AbortSignal.timeout(): it cannot be cancelled, so every review's signal and timer would
// live for the whole budget (3 s) and end up in the old generation, some 95 MB of garbage over
// 100k reviews that is the driver's, not the webhook's (the route does not use it, for that).
//
// Traffic: 10k distinct images, rolled out by `rollouts` concurrent workers; each rollout is
// what the controllers send for one image: a Deployment, its ReplicaSet, then 8 Pods (10
// reviews). The cache budget (cache.maxEntries, inspect.cacheBytes) is far below what 10k
// images would need, so entries are evicted all along.
//
// "Fixed overhead" is measured first, in the same process at the same concurrency: reviews of
// one image only (every lookup a cache hit). The churn must stay within that plus the budget.
// Settings come as JSON (or @file) in argv[2]; the result is one JSON line on stdout.
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { Deadline } from '../../dist/admission/deadline.js';
import { createApp } from '../../dist/app.js';
import { loadConfig } from '../../dist/config/load.js';

const arg = process.argv[2];
const settings = JSON.parse(arg.startsWith('@') ? readFileSync(arg.slice(1), 'utf8') : arg);
const { images, reviewsPerImage, rollouts, maxSeconds, baselineReviews, budgetMs } = settings;
const config = loadConfig({ document: settings.config });
const logger = pino({ level: config.log.level }, pino.destination({ dest: '/dev/null', sync: true }));
const app = await createApp(config, { logger, namespaceLabels: null });
const engine = app.engine;

/** src/http/server.ts HARD_STOP_SLACK_MS. */
const HARD_STOP_SLACK_MS = 250;
const mb = (n) => Math.round((n / 1048576) * 10) / 10;
const gc = () => {
  globalThis.gc?.();
  globalThis.gc?.();
};

function reviewBody(kind, image, uid) {
  const container = { name: 'app', image, command: ['/app'] };
  const template = { metadata: { labels: { app: 'churn' } }, spec: { containers: [container] } };
  const objects = {
    Deployment: ['apps', 'deployments', { apiVersion: 'apps/v1', kind, metadata: { name: 'churn', namespace: 'bench' }, spec: { replicas: 8, selector: { matchLabels: { app: 'churn' } }, template } }],
    ReplicaSet: ['apps', 'replicasets', { apiVersion: 'apps/v1', kind, metadata: { name: 'churn-1', namespace: 'bench' }, spec: { replicas: 8, selector: { matchLabels: { app: 'churn' } }, template } }],
    Pod: ['', 'pods', { apiVersion: 'v1', kind, metadata: { name: `churn-1-${uid}`, namespace: 'bench', labels: { app: 'churn' } }, spec: { containers: [container] } }],
  };
  const [group, resource, object] = objects[kind];
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid, kind: { group, version: 'v1', kind }, resource: { group, version: 'v1', resource }, namespace: 'bench', operation: 'CREATE', userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' }, object, dryRun: false },
  };
}

let reviews = 0;
let bad = 0;
let badExample;
async function review(kind, image) {
  const uid = `churn-${reviews++}`;
  const deadline = new Deadline(budgetMs, HARD_STOP_SLACK_MS);
  let outcome;
  try {
    outcome = await engine.review(reviewBody(kind, image, uid), deadline);
  } finally {
    deadline.done();
  }
  const r = outcome.response.response;
  if (r.uid !== uid || r.allowed !== true || r.warnings) {
    bad++;
    badExample ??= JSON.stringify(r).slice(0, 300);
  }
}

const KINDS = ['Deployment', 'ReplicaSet', ...Array(reviewsPerImage - 2).fill('Pod')];
const samples = [];
let peakRss = 0;
const sampleRss = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));
const sampler = setInterval(sampleRss, 50);

/** Runs `list` (one image per rollout) through `rollouts` workers, sampling every `every` reviews. */
async function rollOut(list, every, deadline) {
  let next = 0;
  let nextSample = reviews + every;
  const worker = async () => {
    while (next < list.length && performance.now() < deadline) {
      const image = list[next++];
      for (const kind of KINDS) {
        await review(kind, image);
        if (reviews >= nextSample) {
          nextSample += every;
          const m = process.memoryUsage();
          samples.push({ reviews, rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed), cacheEntries: engine.facts.cacheStats.size });
        }
      }
    }
  };
  await Promise.all(Array.from({ length: rollouts }, worker));
  return Math.min(next, list.length);
}

const deadline = performance.now() + maxSeconds * 1000;
// Warm-up (JIT, connections, token, first allocations), then the fixed overhead: the same
// traffic shape on one image, every lookup a hit.
for (let i = 0; i < 200; i++) await review('Pod', settings.warmupImage);
gc();
peakRss = 0;
const baselineStart = performance.now();
await rollOut(Array(Math.ceil(baselineReviews / reviewsPerImage)).fill(settings.warmupImage), 1e9, deadline);
const baseline = { reviews: reviews - 200, seconds: (performance.now() - baselineStart) / 1000, rssPeakMB: mb(Math.max(peakRss, process.memoryUsage().rss)) };
gc();
const start = { rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed, reviews };

peakRss = 0;
const started = performance.now();
const distinct = await rollOut(images, Math.max(100, Math.floor((images.length * reviewsPerImage) / 10)), deadline);
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
sampleRss();
const churnReviews = reviews - start.reviews;
gc();
const end = process.memoryUsage();
const stats = engine.facts.cacheStats;
const inspectorBytes = engine.inspector?.cacheBytes;
// What the facts cache holds: heap with it full, minus heap once it is emptied. (`cache` is
// private in TypeScript only; if it is renamed, the per-entry figure is left out.)
const entries = stats.size;
const cache = engine.facts.cache;
let heapEmpty;
if (typeof cache?.clear === 'function') {
  cache.clear();
  gc();
  heapEmpty = process.memoryUsage().heapUsed;
}
await app.server.close();

process.stdout.write(
  `${JSON.stringify({
    driver: "in-process engine (createApp().engine.review with the route's Deadline, its timer cleared once answered), no HTTP",
    reviews: churnReviews,
    distinctImages: distinct,
    seconds,
    reviewsPerSecond: churnReviews / seconds,
    bad,
    badExample,
    registryLookups: stats.misses,
    cache: { maxEntries: config.cache.maxEntries, entriesAtEnd: entries, hits: stats.hits, misses: stats.misses, inspectCacheBytes: config.inspect?.cacheBytes, inspectorBytesAtEnd: inspectorBytes },
    bytesPerEntry: entries > 0 && heapEmpty !== undefined ? Math.round((end.heapUsed - heapEmpty) / entries) : 0,
    baseline,
    rssStartMB: mb(start.rss),
    heapStartMB: mb(start.heapUsed),
    rssPeakMB: mb(peakRss),
    rssEndMB: mb(end.rss),
    heapEndMB: mb(end.heapUsed),
    samples,
  })}\n`,
);
process.exit(0);
