// ImageFacts over the real registry client and a real registry (CNCF Distribution).
import t from 'tap';
import type { ImageLookup } from '../../src/checks/ports.js';
import { OfflineRegistry } from '../../src/facts/offline-registry.js';
import { RegistryImageFacts } from '../../src/facts/registry-image-facts.js';
import { parseReference } from '../../src/image/reference.js';
import { RegistryClient } from '../../src/registry/client.js';
import { startStatusServer } from '../helpers/hanging-server.js';
import { seedStandardFixtures } from '../helpers/registry-fixtures.js';
import { startRegistry } from '../helpers/registry.js';

const open = await startRegistry({ auth: 'none' });
t.teardown(() => open.stop());
await seedStandardFixtures(open);
const locked = await startRegistry({ auth: 'htpasswd' });
t.teardown(() => locked.stop());
await seedStandardFixtures(locked);
const limited = await startStatusServer({ status: 429, headers: { 'retry-after': '120' }, body: { errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] } });
t.teardown(() => limited.stop());

const client = new RegistryClient({
  timeoutMs: 2000,
  hosts: {
    'docker.io': { server: open.url, ca: open.caPem, allowPrivateNetwork: true },
    [open.host]: { ca: open.caPem, allowPrivateNetwork: true },
    [locked.host]: { ca: locked.caPem, allowPrivateNetwork: true },
    [limited.host]: { ca: limited.caPem, allowPrivateNetwork: true },
  },
});
t.teardown(() => client.close());

// A spy (not a fake): counts the calls that reach the real client.
const calls = { head: 0, tags: 0 };
const counted = {
  headManifest: (...a: Parameters<RegistryClient['headManifest']>) => (calls.head++, client.headManifest(...a)),
  listTags: (...a: Parameters<RegistryClient['listTags']>) => (calls.tags++, client.listTags(...a)),
};
const cache = { positiveTtlMs: 60_000, negativeTtlMs: 60_000, errorTtlMs: 1000, maxEntries: 100 };
const facts = new RegistryImageFacts({ registry: counted, cache, credentialsOnNodes: ['*.dkr.ecr.*.amazonaws.com'], offlineDockerHubCheck: true });
const signal = new AbortController().signal;
const look = (image: string) => facts.lookup(parseReference(image), signal);

t.test('an existing image is found with its digest', async (t) => {
  const r = await look('nginx:1.14.2');
  t.equal(r.status, 'found');
  t.match((r as Extract<ImageLookup, { status: 'found' }>).digest, /^sha256:[0-9a-f]{64}$/);
});

t.test('a missing tag: the closest existing tags, from the registry', async (t) => {
  t.same(await look(`${open.host}/library/nginx:1.14.3`), { status: 'not-found', registry: open.host, what: 'tag', suggestions: ['1.14.2', '1.14'], source: 'registry' });
});

t.test('a missing repository on Docker Hub: the closest Docker Official Image', async (t) => {
  const r = await look('ngiinx:1.14.2');
  t.same(r, { status: 'not-found', registry: 'docker.io', what: 'repository', suggestions: ['nginx'], source: 'registry' });
});

t.test('a missing repository elsewhere: no suggestion', async (t) => {
  t.same(await look(`${open.host}/team/nothing:1`), { status: 'not-found', registry: open.host, what: 'repository', suggestions: [], source: 'registry' });
});

t.test('a private repository asked anonymously: unauthorized', async (t) => {
  const r = await look(`${locked.host}/private/app:1.0`);
  t.equal(r.status, 'unauthorized');
  t.equal((r as Extract<ImageLookup, { status: 'unauthorized' }>).credentialsOnNodes, false);
});

t.test('a rate-limited registry: rate-limited with the wait it asked for', async (t) => {
  const before = Date.now();
  const r = await look(`${limited.host}/team/app:1`);
  t.match(r, { status: 'rate-limited', registry: limited.host, retryAfterMs: 120_000 });
  const until = (r as Extract<ImageLookup, { status: 'rate-limited' }>).until!;
  t.ok(until >= before + 120_000 && until <= Date.now() + 120_000, 'until: when the limit resets');
});

t.test('a registry that refuses connections cannot tell', async (t) => {
  const r = await facts.lookup(parseReference('127.0.0.1:1/team/app:1'), signal);
  t.equal(r.status, 'unreachable');
});

t.test('a blocked address is reported as such', async (t) => {
  const r = await look('169.254.169.254/team/app:1');
  t.equal(r.status, 'unreachable');
  t.match((r as Extract<ImageLookup, { status: 'unreachable' }>).reason, 'loopback, link-local or metadata address');
});

t.test('answers are cached: the second lookup makes no registry call', async (t) => {
  const before = { ...calls };
  await look('nginx:1.14.2');
  await look(`${open.host}/library/nginx:1.14.3`);
  t.same(calls, before);
  t.ok(facts.cacheStats.hits >= 2);
});

t.test('concurrent lookups of one new image share one registry request', async (t) => {
  const before = calls.head;
  const all = await Promise.all(Array.from({ length: 50 }, () => look(`${open.host}/team/app:1.0`)));
  t.equal(calls.head - before, 1);
  t.ok(all.every((r) => r.status === 'found'));
});

t.test('offline: Docker Hub library names are judged from the shipped list, the rest not verified', async (t) => {
  const offline = new RegistryImageFacts({ registry: new OfflineRegistry(), cache, credentialsOnNodes: [], offlineDockerHubCheck: true });
  t.same(await offline.lookup(parseReference('ngiinx:1.14.2'), signal), { status: 'not-found', registry: 'docker.io', what: 'repository', suggestions: ['nginx'], source: 'official-images-list' });
  t.same(await offline.lookup(parseReference('nginx:1.14.2'), signal), { status: 'unreachable', registry: 'docker.io', reason: 'was not asked (offline mode)' });
  const lenient = new RegistryImageFacts({ registry: new OfflineRegistry(), cache, credentialsOnNodes: [], offlineDockerHubCheck: false });
  t.equal((await lenient.lookup(parseReference('ngiinx:1.14.2'), signal)).status, 'unreachable', 'offlineDockerHubCheck: false never denies without Hub');
});

t.test('credentials on the nodes are recognised by host glob', async (t) => {
  // Nothing answers at this name (no DNS here): the glob decides before any network matters only
  // for auth answers, so feed an unauthorized answer from the locked registry under an ECR name.
  const ecrFacts = new RegistryImageFacts({
    registry: { headManifest: (ref, o) => client.headManifest({ ...ref, domain: locked.host }, o), listTags: (r, o) => client.listTags({ ...r, domain: locked.host }, o) },
    cache,
    credentialsOnNodes: ['*.dkr.ecr.*.amazonaws.com'],
    offlineDockerHubCheck: true,
  });
  const r = await ecrFacts.lookup(parseReference('123456789012.dkr.ecr.eu-west-1.amazonaws.com/private/app:1.0'), signal);
  t.equal(r.status, 'unauthorized');
  t.equal((r as Extract<ImageLookup, { status: 'unauthorized' }>).credentialsOnNodes, true);
});

t.test('a Hub-like registry that answers 401 for a missing library repository: not found, access denied', async (t) => {
  const hubLike = new RegistryClient({ timeoutMs: 2000, hosts: { 'docker.io': { server: locked.url, ca: locked.caPem, allowPrivateNetwork: true } } });
  t.teardown(() => hubLike.close());
  const hub = new RegistryImageFacts({ registry: hubLike, cache, credentialsOnNodes: [], offlineDockerHubCheck: true });
  t.same(await hub.lookup(parseReference('ngiinx:1.14.2'), signal), {
    status: 'not-found',
    registry: 'docker.io',
    what: 'repository',
    suggestions: ['nginx'],
    source: 'registry',
    accessDenied: true,
  });
});

t.test('with onManifest (image inspection on): one GET per lookup instead of a HEAD, and the verified body is handed over', async (t) => {
  const seen: Array<{ image: string; digest?: string; bytes: number }> = [];
  const counts = { head: 0, get: 0 };
  const getting = new RegistryImageFacts({
    registry: {
      headManifest: (...a: Parameters<RegistryClient['headManifest']>) => (counts.head++, client.headManifest(...a)),
      getManifest: (...a: Parameters<RegistryClient['getManifest']>) => (counts.get++, client.getManifest(...a)),
      listTags: (...a: Parameters<RegistryClient['listTags']>) => client.listTags(...a),
    },
    cache,
    credentialsOnNodes: [],
    offlineDockerHubCheck: true,
    onManifest: (ref, d, body) => void seen.push({ image: ref.original, ...(d.digest ? { digest: d.digest } : {}), bytes: body.length }),
  });
  const r = await getting.lookup(parseReference(`${open.host}/library/nginx:1.14.2`), signal);
  t.equal(r.status, 'found');
  t.same(counts, { head: 0, get: 1 });
  t.equal(seen.length, 1);
  t.equal(seen[0]!.digest, (r as Extract<ImageLookup, { status: 'found' }>).digest);
  t.ok(seen[0]!.bytes > 0);
  // A miss is classified as with HEAD: the GET's error body names the missing tag.
  t.same(await getting.lookup(parseReference(`${open.host}/library/nginx:1.14.3`), signal), { status: 'not-found', registry: open.host, what: 'tag', suggestions: ['1.14.2', '1.14'], source: 'registry' });
  t.equal(seen.length, 1, 'nothing handed over for a miss');
});
