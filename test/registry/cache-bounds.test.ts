// The registry client's caches are bounded: bearer tokens (one per repository and credential)
// and per-registry transports (one per domain an image names) keep the least recently used
// entries up to their configured bound, so memory does not grow with every repository or
// registry domain ever asked about.
import t from 'tap';
import { RegistryClient } from '../../src/registry/index.js';
import { fakeLookup, rejection } from '../helpers/registry-errors.js';
import { seedStandardFixtures } from '../helpers/registry-fixtures.js';
import { startRegistry } from '../helpers/registry.js';

t.setTimeout(120_000);

t.test('tokens: at most maxCachedTokens are kept, the least recently used go first', async (t) => {
  const reg = await startRegistry({ auth: 'token', users: { alice: 'alice-secret-1' } });
  t.teardown(() => reg.stop());
  await seedStandardFixtures(reg);
  const ts = reg.tokenServer!;
  const head = (client: RegistryClient, path: string) => client.headManifest({ domain: reg.host, path, reference: 'whatever' }).catch(() => undefined);
  const repos = { a: 'library/nginx', b: 'library/busybox', c: 'team/app' };

  t.test('bounded to 2', async (t) => {
    const client = new RegistryClient({ hosts: { [reg.host]: { ca: reg.caPem, allowPrivateNetwork: true } }, timeoutMs: 5000, maxCachedTokens: 2 });
    t.teardown(() => client.close());
    const before = ts.requests.length;
    for (const r of [repos.a, repos.b, repos.c]) await head(client, r);
    t.equal(ts.requests.length - before, 3, 'one token per repository');
    await head(client, repos.a);
    t.equal(ts.requests.length - before, 4, "the first repository's token was dropped for the third one: fetched again");
    await head(client, repos.c);
    t.equal(ts.requests.length - before, 4, 'the most recent ones are kept');
    await head(client, repos.b);
    t.equal(ts.requests.length - before, 5, 'b was the least recently used: dropped when a came back');
  });

  t.test('the default bound keeps them all here', async (t) => {
    const client = new RegistryClient({ hosts: { [reg.host]: { ca: reg.caPem, allowPrivateNetwork: true } }, timeoutMs: 5000 });
    t.teardown(() => client.close());
    const before = ts.requests.length;
    for (const r of [repos.a, repos.b, repos.c, repos.a, repos.b, repos.c]) await head(client, r);
    t.equal(ts.requests.length - before, 3);
  });
});

t.test('transports: at most maxCachedHosts unconfigured registries are kept; configured ones always', async (t) => {
  for (const max of [1, 2]) {
    const client = new RegistryClient({ hosts: { 'configured.example': { timeoutMs: 2000 } }, timeoutMs: 2000, lookup: fakeLookup({}), maxCachedHosts: max });
    t.teardown(() => client.close());
    const ask = (domain: string) => rejection(client.headManifest({ domain, path: 'team/app', reference: '1.0' }));
    t.equal((await ask('configured.example')).errno, 'ENOTFOUND');
    for (let i = 0; i < 5; i++) t.equal((await ask(`r${i}.example`)).errno, 'ENOTFOUND', `r${i}.example answered`);
    t.equal(client.cachedHosts, 1 + max, `maxCachedHosts ${max}: the configured registry and the ${max} most recent others`);
    t.equal((await ask('r0.example')).errno, 'ENOTFOUND', 'a registry asked again after it was dropped gets a new transport');
    t.equal((await ask('configured.example')).errno, 'ENOTFOUND');
    t.equal(client.cachedHosts, 1 + max);
  }
});
