// Issue 12, faults: 1,000 reviews of existing images through two real `serve` processes that
// share a real redis-server, while Redis is paused (SIGSTOP), resumed, killed and restarted.
// The shared cache is never a dependency of a verdict: 0 errors, 0 answers past the deadline,
// 0 denies of images that exist. Local caches are off (TTL 0) so every lookup goes to Redis.
// Cost: 2 node processes, ~20-40 s.
import t from 'tap';
import { pushImage } from '../helpers/registry-fixtures.js';
import { startQuotaWorld } from '../helpers/quota-world.js';
import { rolloutReviews } from '../helpers/rollout.js';
import { startWebhook, total } from '../helpers/webhook-process.js';

t.setTimeout(240_000);

t.test('Redis paused, killed and restarted during 1,000 reviews', async (t) => {
  const { reg, port, redis } = await startQuotaWorld(t, { prefix: 'bg-faults-', remaining: 90, limit: 100 });
  const images: string[] = [];
  for (let i = 0; i < 5; i++) {
    await pushImage(reg, { repo: `team/fault${i}`, tag: '1' });
    images.push(`docker.io/team/fault${i}:1`);
  }
  const budgetMs = 3000;
  const config = {
    kubernetes: { enabled: 'off' },
    admission: { budgetMs },
    log: { level: 'info' },
    cache: { positiveTtlMs: 0, reviewTtlMs: 0 },
    registry: { hosts: { 'docker.io': { server: `https://127.0.0.1:${port}`, caFile: reg.caFile, allowPrivateNetwork: true } } },
    sharedCache: { url: redis.url },
  };
  const ps = [await startWebhook(config), await startWebhook(config)];
  t.teardown(() => Promise.all(ps.map((p) => p.stop())));

  const N = 1000;
  let sent = 0;
  let errors = 0;
  let late = 0;
  let atBudget = 0;
  let denied = 0;
  let slowest = 0;
  const faults: string[] = [];
  const plan: Array<[number, string, () => void | Promise<void>]> = [
    [150, 'SIGSTOP', () => redis.pause()],
    [300, 'SIGCONT', () => redis.resume()],
    [450, 'SIGKILL', () => redis.kill()],
    [600, 'restart', () => redis.restart()],
    [750, 'SIGSTOP', () => redis.pause()],
    [850, 'SIGCONT', () => redis.resume()],
  ];
  const worker = async (): Promise<void> => {
    while (sent < N) {
      const i = sent++;
      for (const [at, what, act] of plan) {
        if (i === at) {
          faults.push(what);
          await act();
        }
      }
      const r = rolloutReviews(images[i % images.length]!, { name: `f${i}` });
      const review = [r.deployment, r.replicaSet, r.pod][i % 3]!;
      try {
        const a = await ps[i % 2]!.review(review, '10s');
        if (a.status !== 200) errors++;
        else if (a.allowed !== true) denied++;
        // The deadline is the API server's (?timeout=10s); the webhook's own budget (3 s) cuts
        // unfinished checks into "could not verify" warnings, which is allowed and counted apart.
        if (a.ms >= 10_000) late++;
        if (a.ms >= budgetMs) atBudget++;
        slowest = Math.max(slowest, a.ms);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  redis.resume();
  t.same(faults, plan.map((p) => p[1]), 'every fault happened during the run');
  t.equal(errors, 0, '0 errors');
  t.equal(late, 0, `0 answers past the API server's 10 s deadline (slowest ${slowest.toFixed(0)} ms)`);
  t.equal(denied, 0, '0 denies of existing images');
  const texts = await Promise.all(ps.map((p) => p.metrics()));
  const fellBack = texts.reduce((k, m) => k + total(m, 'backoff_guard_shared_cache_fallbacks_total'), 0);
  const hits = texts.reduce((k, m) => k + total(m, 'backoff_guard_shared_cache_operations_total', { result: 'acquired' }), 0);
  t.ok(fellBack > 0, `fallbacks counted (${fellBack})`);
  t.ok(hits > 0, `Redis was in use between the faults (${hits} flights led)`);
  t.comment(`1000 reviews: slowest ${slowest.toFixed(0)} ms, ${atBudget} answered at the webhook's ${budgetMs} ms budget, ${fellBack} fallbacks, ${hits} flights led through Redis`);
});
