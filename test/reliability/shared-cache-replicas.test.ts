// Issue 12, "prove it": three real `backoff-guard serve` processes (the replicas behind the
// Service), a real redis-server, and a real registry standing for docker.io behind a real
// nginx whose access log is the measure. A rollout's Deployment, ReplicaSet and Pod reviews go
// to the three replicas in turn (the API server's order), then another image's three reviews
// arrive at once: counted manifest GETs per new image, with and without the shared cache.
// Cost: ~6 node processes, ~15 s.
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readAccessLog } from '../helpers/nginx.js';
import { pushImage } from '../helpers/registry-fixtures.js';
import { startQuotaWorld } from '../helpers/quota-world.js';
import { manifestRequests, rolloutReviews } from '../helpers/rollout.js';
import { sample, startWebhook, total, type WebhookProcess } from '../helpers/webhook-process.js';

t.setTimeout(120_000);

const { reg, port, log, redis } = await startQuotaWorld(t, { prefix: 'bg-replicas-', remaining: 80, limit: 100, windowS: 21600, redisPassword: 'replicas-pw' });

const base = (inspect?: string) => ({
  kubernetes: { enabled: 'off' },
  admission: { budgetMs: 8000 },
  log: { level: 'info' },
  registry: { hosts: { 'docker.io': { server: `https://127.0.0.1:${port}`, caFile: reg.caFile, allowPrivateNetwork: true, ...(inspect ? { inspect } : {}) } } },
});
// 1 s per Redis call rather than the default 25 ms: on a CI machine shared by parallel test
// files a slow call falls back (correctly, counted in backoff_guard_shared_cache_fallbacks_total)
// and the count would depend on load. The fallback itself is tested in redis-shared-cache.test.ts
// and shared-cache-faults.test.ts.
const withShared = (inspect?: string) => ({ ...base(inspect), sharedCache: { url: redis.url, callBudgetMs: 1000, flightWaitMs: 20_000 } });

async function replicas(config: Record<string, unknown>): Promise<WebhookProcess[]> {
  const env = { BACKOFF_GUARD_SHARED_CACHE_PASSWORD: 'replicas-pw' };
  const ps = await Promise.all([startWebhook(config, env), startWebhook(config, env), startWebhook(config, env)]);
  t.teardown(() => Promise.all(ps.map((p) => p.stop())));
  return ps;
}

let n = 0;
async function newImage(): Promise<{ image: string; repo: string }> {
  const repo = `team/replicas${++n}`;
  await pushImage(reg, { repo, tag: '1' });
  return { image: `docker.io/${repo}:1`, repo };
}

async function countedGets(repo: string, atLeast: number): Promise<number> {
  const text = await readAccessLog(log, (l) => manifestRequests(l).filter((r) => r.uri.includes(`/${repo}/`) && r.method === 'GET').length >= atLeast, 3000);
  return manifestRequests(text).filter((r) => r.uri.includes(`/${repo}/`) && r.method === 'GET').length;
}

async function rollout(t: Test, ps: WebhookProcess[], image: string, together: boolean): Promise<void> {
  const r = rolloutReviews(image, { name: `w${n}` });
  const reviews = [r.deployment, r.replicaSet, r.pod];
  const answers = together ? await Promise.all(reviews.map((rv, i) => ps[i]!.review(rv))) : [];
  if (!together) for (const [i, rv] of reviews.entries()) answers.push(await ps[i]!.review(rv));
  for (const a of answers) {
    t.equal(a.status, 200);
    t.equal(a.allowed, true);
  }
}

const results: Record<string, number> = {};

for (const inspect of [undefined, 'always'] as const) {
  const policy = inspect ?? 'whenQuotaAllows (Docker Hub default)';
  t.test(`inspect ${policy}: 3 replicas without a shared cache`, async (t) => {
    const ps = await replicas(base(inspect));
    const a = await newImage();
    await rollout(t, ps, a.image, false);
    const one = await countedGets(a.repo, 3);
    const b = await newImage();
    await rollout(t, ps, b.image, true);
    const two = await countedGets(b.repo, 3);
    t.equal(one, 3, 'one counted pull per replica that reviewed it');
    t.equal(two, 3);
    results[`${policy}, no shared cache`] = one;
    const metric = (await Promise.all(ps.map((p) => p.metrics()))).reduce((k, m) => k + sample(m, 'backoff_guard_registry_counted_pulls_total', { registry: 'docker.io' }), 0);
    t.equal(metric, one + two, 'the replicas count what the access log shows');
    await Promise.all(ps.map((p) => p.stop()));
  });

  t.test(`inspect ${policy}: 3 replicas sharing Redis`, async (t) => {
    const ps = await replicas(withShared(inspect));
    const a = await newImage();
    await rollout(t, ps, a.image, false);
    const one = await countedGets(a.repo, 2);
    const b = await newImage();
    await rollout(t, ps, b.image, true);
    const two = await countedGets(b.repo, 2);
    if (two !== 1) t.comment(manifestRequests(readFileSync(log, 'utf8')).filter((r) => r.uri.includes(`/${b.repo}/`)));
    t.equal(one, 1, 'one counted pull for the cluster (reviews one after the other)');
    t.equal(two, 1, 'one counted pull for the cluster (reviews at once: single flight across replicas)');
    results[`${policy}, shared cache`] = one;
    const texts = await Promise.all(ps.map((p) => p.metrics()));
    const fellBack = texts.reduce((k, m) => k + total(m, 'backoff_guard_shared_cache_fallbacks_total'), 0);
    t.equal(fellBack, 0, 'no shared cache call fell back (else the counts above depend on it)');
    t.equal(texts.reduce((k, m) => k + sample(m, 'backoff_guard_registry_counted_pulls_total', { registry: 'docker.io' }), 0), 2);
    t.ok(texts.some((m) => sample(m, 'backoff_guard_shared_cache_operations_total', { op: 'get', result: 'hit' }) > 0), 'shared hits counted');
    t.ok(texts.every((m) => sample(m, 'backoff_guard_registry_ratelimit_remaining', { registry: 'docker.io' }) === 80 || !/ratelimit_remaining\{/.test(m)), 'last ratelimit-remaining exposed');
    t.ok(texts.every((m) => !m.includes('replicas-pw')));
    t.notMatch(ps.map((p) => p.output()).join('\n'), /replicas-pw/, 'the password is never logged');
    await Promise.all(ps.map((p) => p.stop()));
  });
}

t.teardown(() => {
  console.log(`# counted manifest GETs per new image, Deployment+ReplicaSet+Pod over 3 replicas: ${JSON.stringify(results)}`);
});
