// The shared cache on a real redis-server (test/helpers/redis.ts): values with TTLs, hashed
// keys, a single flight across two clients (two replicas), and every fault reading as a miss
// within the call budget: garbage, a wrong password, a full server, the server killed, paused
// (SIGSTOP) and restarted.
import t from 'tap';
import { RedisSharedCache } from '../../src/cache/redis-shared-cache.js';
import { sharedKey, type Produced } from '../../src/cache/shared-cache.js';
import { redisCommand, startRedis, type TestRedis } from '../helpers/redis.js';

t.setTimeout(90_000);

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

const raw = redisCommand;

async function cache(redis: TestRedis, extra: Partial<ConstructorParameters<typeof Object>[0]> = {}) {
  const events: string[] = [];
  const c = await RedisSharedCache.create({
    url: redis.url,
    ...(redis.password ? { password: redis.password } : {}),
    callBudgetMs: 50,
    flightWaitMs: 2000,
    keyPrefix: 'bg-test:',
    observe: (op, result, reason) => events.push(`${op}:${result}${reason ? `:${reason}` : ''}`),
    ...extra,
  });
  t.teardown(() => c.close());
  await until(() => c.connected);
  return { c, events };
}

async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('values with TTLs under hashed keys that hold no reference text', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const { c, events } = await cache(redis);
  await c.set('lookup', ['docker.io', 'team/app', '1'], 'found', 60_000);
  t.equal(await c.get('lookup', ['docker.io', 'team/app', '1'], str), 'found');
  t.equal(await c.get('lookup', ['docker.io', 'team/app', '2'], str), undefined, 'another reference: a miss');
  await c.set('lookup', ['docker.io', 'team/app', 'short'], 'soon gone', 100);
  await new Promise((r) => setTimeout(r, 250));
  t.equal(await c.get('lookup', ['docker.io', 'team/app', 'short'], str), undefined, 'expired with its TTL');
  const keys = await raw(redis, 'KEYS', '*');
  t.match(keys, sharedKey('bg-test:', 'lookup', ['docker.io', 'team/app', '1']));
  t.notMatch(keys, /team|docker\.io|app/, 'keys are hashes');
  const ttl = await raw(redis, 'PTTL', sharedKey('bg-test:', 'lookup', ['docker.io', 'team/app', '1']));
  t.ok(Number(/:(\d+)/.exec(ttl)?.[1]) > 50_000, `the entry carries its TTL (${ttl.trim()})`);
  t.same(events.filter((e) => e.startsWith('set')), ['set:stored', 'set:stored']);
});

t.test('garbage and a wrong password read as misses, counted', async (t) => {
  const redis = await startRedis({ password: 'sekret-pw' });
  t.teardown(() => redis.stop());
  const { c, events } = await cache(redis);
  const key = sharedKey('bg-test:', 'lookup', ['docker.io', 'team/app', '1']);
  await raw(redis, 'SET', key, 'not json at all');
  t.equal(await c.get('lookup', ['docker.io', 'team/app', '1'], str), undefined);
  await raw(redis, 'SET', key, JSON.stringify({ v: 1, d: 42 }));
  t.equal(await c.get('lookup', ['docker.io', 'team/app', '1'], str), undefined, 'a value of the wrong shape');
  t.same(events, ['get:fallback:garbage', 'get:fallback:garbage']);

  const wrong = await RedisSharedCache.create({ url: redis.url, password: 'nope', callBudgetMs: 50, flightWaitMs: 100, keyPrefix: 'bg-test:' });
  t.teardown(() => wrong.close());
  await new Promise((r) => setTimeout(r, 300));
  t.equal(await wrong.get('lookup', ['docker.io', 'team/app', '1'], str), undefined);
  let ran = 0;
  t.equal(await wrong.flight('lookup', ['x'], str, async () => ({ value: `v${++ran}`, ttlMs: 1000 })), 'v1', 'the work runs here');
});

t.test('a full server: the store fails, nothing throws', async (t) => {
  const redis = await startRedis({ maxmemory: '1mb' });
  t.teardown(() => redis.stop());
  // Sending 2 MB can take longer than the 50 ms budget on a loaded machine (then it is a
  // timeout, also a fallback): a generous budget, so what is observed is Redis's OOM answer.
  const { c, events } = await cache(redis, { callBudgetMs: 5000 });
  await c.set('manifest', ['big'], 'x'.repeat(2 * 1024 * 1024), 60_000);
  t.same(events, ['set:fallback:error'], 'OOM command not allowed: counted');
  t.equal(await c.get('manifest', ['big'], str), undefined);
});

t.test('single flight across two replicas: one runs the work, the other gets its result', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const a = await cache(redis);
  const b = await cache(redis);
  let runs = 0;
  const work = async (): Promise<Produced<string>> => {
    runs++;
    await new Promise((r) => setTimeout(r, 200));
    return { value: 'digest-1', ttlMs: 60_000 };
  };
  const [x, y] = await Promise.all([a.c.flight('lookup', ['docker.io', 'team/app', '1'], str, work), b.c.flight('lookup', ['docker.io', 'team/app', '1'], str, work)]);
  t.equal(x, 'digest-1');
  t.equal(y, 'digest-1');
  t.equal(runs, 1, 'the work ran once for both');
  t.ok([...a.events, ...b.events].includes('wait:hit'), 'the second waited for the first');

  // A result not to be shared (ttlMs 0, e.g. "unreachable"): the waiter runs its own work.
  let own = 0;
  const failing = async (): Promise<Produced<string>> => {
    own++;
    await new Promise((r) => setTimeout(r, 100));
    return { value: 'unreachable', ttlMs: 0 };
  };
  const [p, q] = await Promise.all([a.c.flight('lookup', ['k2'], str, failing), b.c.flight('lookup', ['k2'], str, failing)]);
  t.same([p, q], ['unreachable', 'unreachable']);
  t.equal(own, 2, 'no stored result: each asked on its own');
});

t.test('killed, paused (SIGSTOP), restarted: misses within the budget, the work runs locally, then back to shared', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const { c, events } = await cache(redis);
  await c.set('lookup', ['k'], 'v', 60_000);
  t.equal(await c.get('lookup', ['k'], str), 'v');
  const timed = async <T>(p: () => Promise<T>): Promise<{ v: T; ms: number }> => {
    const s = performance.now();
    const v = await p();
    return { v, ms: performance.now() - s };
  };

  redis.pause();
  const paused = await timed(() => c.get('lookup', ['k'], str));
  t.equal(paused.v, undefined, 'paused: a miss');
  t.ok(paused.ms < 1000, `answered in ${paused.ms.toFixed(0)} ms (budget 50 ms)`);
  t.match(events.at(-1), /get:fallback:timeout/);
  const during = await timed(() => c.flight('lookup', ['k'], str, async () => ({ value: 'local', ttlMs: 60_000 })));
  t.equal(during.v, 'local', 'the work ran locally');
  t.match(events.at(-2) ?? '', /fallback:(unavailable|timeout)/, 'Redis left alone after a timeout');
  redis.resume();

  await redis.kill();
  const killed = await timed(() => c.get('lookup', ['k'], str));
  t.equal(killed.v, undefined, 'killed: a miss');
  t.ok(killed.ms < 1000, `answered in ${killed.ms.toFixed(0)} ms`);
  let ran = 0;
  t.equal(await c.flight('lookup', ['k'], str, async () => ({ value: `local${++ran}`, ttlMs: 60_000 })), 'local1');

  await redis.restart();
  await until(() => c.connected);
  await until(async () => (await c.get('lookup', ['k'], str)) === undefined && c.connected);
  // A store may still fall within the budget's break after a slow first command: store until read back.
  await until(async () => {
    await c.set('lookup', ['k'], 'again', 60_000);
    return (await c.get('lookup', ['k'], str)) === 'again';
  });
  t.pass('reconnected after the restart and shares again');
});
