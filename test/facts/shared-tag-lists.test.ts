// Issue 12: the tag list behind "did you mean" is shared by the replicas through the shared
// cache (a real redis-server), so a second missing tag of one repository, reviewed on another
// replica, costs no second tags/list at the real registry. A credential's tag list never goes
// there; a cache that answers garbage is a miss, and the hint is still right.
import t from 'tap';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { createEngine } from '../../src/engine.js';
import type { RequestEvent } from '../../src/registry/transport.js';
import { RedisSharedCache } from '../../src/cache/redis-shared-cache.js';
import { sharedKey } from '../../src/cache/shared-cache.js';
import { RegistryImageFacts } from '../../src/facts/registry-image-facts.js';
import { parseReference } from '../../src/image/reference.js';
import { RegistryClient } from '../../src/registry/index.js';
import { redisCommand, startRedis } from '../helpers/redis.js';
import { pushImage } from '../helpers/registry-fixtures.js';
import { startRegistry } from '../helpers/registry.js';
import { rolloutReviews } from '../helpers/rollout.js';

t.setTimeout(120_000);

const reg = await startRegistry({ auth: 'none' });
t.teardown(() => reg.stop());
const redis = await startRedis();
t.teardown(() => redis.stop());
await pushImage(reg, { repo: 'team/app', tag: '1.0' });
await pushImage(reg, { repo: 'team/app', tag: '2.0' });

const tagsKey = sharedKey('backoff-guard:', 'tags', [reg.host, 'team/app']);
async function until(cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function replica(shared: boolean) {
  const config = loadConfig({
    document: {
      kubernetes: { enabled: 'off' },
      admission: { budgetMs: 10_000 },
      registry: { hosts: { [reg.host]: { caFile: reg.caFile, allowPrivateNetwork: true } } },
      // A generous call budget: this file measures sharing, not the budget (shared-cache-faults does).
      ...(shared ? { sharedCache: { url: redis.url, callBudgetMs: 1000 } } : {}),
    },
  });
  const requests: RequestEvent[] = [];
  const engine = await createEngine(config, { logger: pino({ level: 'silent' }), namespaceLabels: null, onRegistryRequest: (e) => void requests.push(e) });
  t.teardown(() => engine.close());
  return { engine, tagLists: () => requests.filter((r) => r.kind === 'tags').length };
}

async function denial(r: Awaited<ReturnType<typeof replica>>, image: string): Promise<string> {
  const res = await r.engine.review(rolloutReviews(image).pod, AbortSignal.timeout(20_000));
  t.equal(res.response.response.allowed, false, `${image} denied`);
  return res.response.response.status?.message ?? '';
}

t.test('with the shared cache: one tags/list for two missing tags reviewed on two replicas', async (t) => {
  const a = await replica(true);
  const b = await replica(true);
  t.match(await denial(a, `${reg.host}/team/app:1.1`), /did you mean "[^"]*\/team\/app:1\.0"\?$/);
  t.equal(a.tagLists(), 1, 'the first replica lists the tags');
  await until(async () => (await redisCommand(redis, 'EXISTS', tagsKey)).startsWith(':1'));
  t.match(await denial(b, `${reg.host}/team/app:2.1`), /did you mean "[^"]*\/team\/app:2\.0"\?$/, 'the hint from the shared list is computed for this tag');
  t.equal(b.tagLists(), 0, 'the second replica reads the list from the shared cache');
});

t.test('without it: each replica lists the tags itself (the figure before)', async (t) => {
  const a = await replica(false);
  const b = await replica(false);
  await denial(a, `${reg.host}/team/app:1.2`);
  await denial(b, `${reg.host}/team/app:2.2`);
  t.same([a.tagLists(), b.tagLists()], [1, 1]);
});

t.test('garbage under the key reads as a miss: listed again, the hint still right', async (t) => {
  const a = await replica(true);
  const keys = await redisCommand(redis, 'KEYS', '*');
  t.match(keys, tagsKey, 'the tag list is stored under a hashed key');
  t.notMatch(keys, /team|app/, 'no reference text in the keys');
  t.match(await redisCommand(redis, 'SET', tagsKey, JSON.stringify({ not: 'a list' })), /OK/);
  t.match(await denial(a, `${reg.host}/team/app:1.3`), /did you mean "[^"]*\/team\/app:1\.0"\?$/);
  t.equal(a.tagLists(), 1, 'garbage is a miss: the registry is asked');
});

t.test('a credential\'s tag list stays in the process: nothing of it reaches the shared cache', async (t) => {
  const priv = await startRegistry({ auth: 'htpasswd', users: { alice: 'tag-list-pw-7' } });
  t.teardown(() => priv.stop());
  const alice = { username: 'alice', password: 'tag-list-pw-7' };
  await pushImage(priv, { repo: 'private/app', tag: '1.0', credential: alice });
  const shared = await RedisSharedCache.create({ url: redis.url, callBudgetMs: 1000, flightWaitMs: 1000, keyPrefix: 'bg-cred:' });
  t.teardown(() => shared.close());
  await until(async () => shared.connected);
  const client = new RegistryClient({ timeoutMs: 5000, hosts: { [priv.host]: { ca: priv.caPem, allowPrivateNetwork: true } } });
  t.teardown(() => client.close());
  const facts = new RegistryImageFacts({ registry: client, shared, cache: { positiveTtlMs: 60_000, negativeTtlMs: 60_000, errorTtlMs: 1000, maxEntries: 100 }, credentialsOnNodes: [], offlineDockerHubCheck: false });
  const r = await facts.lookup(parseReference(`${priv.host}/private/app:1.1`), new AbortController().signal, { credentials: [{ source: 'secret default/regcred', key: priv.host, credential: alice, id: 'regcred' }] });
  t.match(r, { status: 'not-found', what: 'tag', suggestions: ['1.0'] }, 'the hint from the credential\'s own list');
  t.equal((await redisCommand(redis, 'KEYS', 'bg-cred:*')).trim(), '*0', 'no key at all under this prefix: neither the lookup nor the tag list was shared');
});
