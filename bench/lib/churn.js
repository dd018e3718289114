// Memory under churn, in a child process of its own (so its RSS is the webhook's alone):
// the full webhook app (dist/app.js createApp: route, envelope schema, log line, metrics,
// engine, cache, registry client) driven in-process through Fastify's inject() - every
// review goes through the route, only the socket and TLS are skipped, which keeps 100k
// reviews within the bench's time budget. Image lookups go to the real registry.
//
// Traffic: 10k distinct images, rolled out by `rollouts` concurrent workers; each rollout is
// what the controllers send for one image: a Deployment, its ReplicaSet, then 8 Pods (10
// reviews). The cache budget (cache.maxEntries) is far below 10k, so entries are evicted all
// along. Settings come as JSON in argv[2]; the result is printed as one JSON line on stdout.
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { createApp } from '../../dist/app.js';
import { loadConfig } from '../../dist/config/load.js';

const arg = process.argv[2];
const settings = JSON.parse(arg.startsWith('@') ? readFileSync(arg.slice(1), 'utf8') : arg);
const { images, reviewsPerImage, rollouts, maxSeconds } = settings;
const config = loadConfig({ document: settings.config });
const logger = pino({ level: config.log.level }, pino.destination({ dest: '/dev/null', sync: true }));
const app = await createApp(config, { logger, namespaceLabels: null });
await app.server.ready();

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
  const res = await app.server.inject({ method: 'POST', url: '/validate?timeout=10s', payload: reviewBody(kind, image, uid) });
  const j = res.statusCode === 200 ? res.json() : undefined;
  if (!j || j.response?.uid !== uid || j.response.allowed !== true || j.response.warnings) {
    bad++;
    badExample ??= `${res.statusCode} ${res.body.slice(0, 300)}`;
  }
}

const KINDS = ['Deployment', 'ReplicaSet', ...Array(reviewsPerImage - 2).fill('Pod')];

// Warm-up (JIT, connection, token, first allocations) on images outside the churn set.
for (let i = 0; i < 200; i++) await review('Pod', settings.warmupImage);
gc();
const start = { rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed };
const samples = [];
const sample = () => {
  const m = process.memoryUsage();
  samples.push({ reviews, rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed), cacheEntries: app.engine.facts.cacheStats.size });
};

const started = performance.now();
const deadline = started + maxSeconds * 1000;
let next = 0;
const sampleEvery = Math.max(100, Math.floor((images.length * reviewsPerImage) / 10));
let nextSample = sampleEvery;
const worker = async () => {
  while (next < images.length && performance.now() < deadline) {
    const image = images[next++];
    for (const kind of KINDS) {
      await review(kind, image);
      if (reviews - 200 >= nextSample) {
        nextSample += sampleEvery;
        sample();
      }
    }
  }
};
await Promise.all(Array.from({ length: rollouts }, worker));
const seconds = (performance.now() - started) / 1000;
const churnReviews = reviews - 200;
const peakRss = Math.max(process.resourceUsage().maxRSS * 1024, ...samples.map((s) => s.rssMB * 1048576));
gc();
const end = process.memoryUsage();
const stats = app.engine.facts.cacheStats;
// What the cache holds: heap with the cache full, minus heap once it is emptied.
const entries = stats.size;
// `cache` is private in TypeScript only; if it is renamed, the per-entry figure is left out.
const cache = app.engine.facts.cache;
let heapEmpty;
if (typeof cache?.clear === 'function') {
  cache.clear();
  gc();
  heapEmpty = process.memoryUsage().heapUsed;
}
await app.server.close();

process.stdout.write(
  `${JSON.stringify({
    reviews: churnReviews,
    distinctImages: Math.min(next, images.length),
    seconds,
    reviewsPerSecond: churnReviews / seconds,
    bad,
    badExample,
    cache: { maxEntries: config.cache.maxEntries, entriesAtEnd: entries, hits: stats.hits, misses: stats.misses },
    bytesPerEntry: entries > 0 && heapEmpty !== undefined ? Math.round((end.heapUsed - heapEmpty) / entries) : 0,
    rssStartMB: mb(start.rss),
    heapStartMB: mb(start.heapUsed),
    rssPeakMB: mb(peakRss),
    rssEndMB: mb(end.rss),
    heapEndMB: mb(end.heapUsed),
    samples,
  })}\n`,
);
process.exit(0);
