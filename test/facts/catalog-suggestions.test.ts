// "Did you mean" for a missing repository in a registry that lists its repositories
// (/v2/_catalog), against a real Distribution registry behind Bearer token auth: paginated,
// capped, cached per registry and credential, and skipped when the catalog is not granted.
import t from 'tap';
import { RegistryImageFacts } from '../../src/facts/registry-image-facts.js';
import { parseReference } from '../../src/image/reference.js';
import { RegistryClient, RegistryError } from '../../src/registry/index.js';
import { seedStandardFixtures } from '../helpers/registry-fixtures.js';
import { startRegistry } from '../helpers/registry.js';

const USERS = { admin: 'admin-secret', bob: 'bob-secret' };
// bob may pull team/* only, so the token server does not grant him the catalog.
const reg = await startRegistry({ auth: 'token', users: USERS, publicRepositories: ['library/*'], tokenServer: { access: { bob: ['team/*'] } } });
t.teardown(() => reg.stop());
await seedStandardFixtures(reg);

const client = new RegistryClient({ timeoutMs: 5000, hosts: { [reg.host]: { ca: reg.caPem, allowPrivateNetwork: true }, 'docker.io': { server: reg.url, ca: reg.caPem, allowPrivateNetwork: true } } });
t.teardown(() => client.close());
const admin = { username: 'admin', password: USERS.admin };
const bob = { username: 'bob', password: USERS.bob };

t.test('the client lists repositories page by page, up to its cap', async (t) => {
  const all = await client.listRepositories(reg.host, { credential: admin });
  t.ok(all.includes('library/nginx') && all.includes('team/app') && all.includes('private/app'), all.join(', '));
  const paged = await client.listRepositories(reg.host, { credential: admin, pageSize: 1 });
  t.same(paged, all, 'one name per page, following the Link header, gives the same list');
  t.same(await client.listRepositories(reg.host, { credential: admin, pageSize: 1, max: 2 }), all.slice(0, 2), 'capped at max');
  const denied = await client.listRepositories(reg.host, { credential: bob }).catch((e: unknown) => e);
  t.ok(denied instanceof RegistryError && denied.kind === 'unauthorized', `not granted: ${String(denied)}`);
});

// A spy (not a fake): counts the catalog requests that reach the real client.
let catalogCalls = 0;
const spy = {
  headManifest: client.headManifest.bind(client),
  listTags: client.listTags.bind(client),
  listRepositories: (...a: Parameters<RegistryClient['listRepositories']>) => (catalogCalls++, client.listRepositories(...a)),
};
const facts = new RegistryImageFacts({ registry: spy, cache: { positiveTtlMs: 60_000, negativeTtlMs: 60_000, errorTtlMs: 1000, maxEntries: 100 }, credentialsOnNodes: [], offlineDockerHubCheck: false });
const signal = new AbortController().signal;
const withCred = (name: string, credential: typeof admin) => ({ credentials: [{ source: `secret default/${name}`, key: reg.host, credential, id: name }] });

t.test('a misspelled repository gets the close names the catalog holds', async (t) => {
  const r = await facts.lookup(parseReference(`${reg.host}/library/ngiinx:1.14.2`), signal, withCred('admin', admin));
  t.match(r, { status: 'not-found', what: 'repository', suggestions: ['library/nginx'] });
  t.equal(catalogCalls, 1);
  const again = await facts.lookup(parseReference(`${reg.host}/tem/app:1.0`), signal, withCred('admin', admin));
  t.match(again, { status: 'not-found', what: 'repository', suggestions: ['team/app'] });
  t.equal(catalogCalls, 1, 'the catalog is read once per registry and credential, then cached');
});

t.test('where the catalog is not granted there is no hint, and it is not asked again', async (t) => {
  const before = catalogCalls;
  const r = await facts.lookup(parseReference(`${reg.host}/team/ap:1.0`), signal, withCred('bob', bob));
  t.match(r, { status: 'not-found', what: 'repository', suggestions: [] });
  await facts.lookup(parseReference(`${reg.host}/team/aap:1.0`), signal, withCred('bob', bob));
  t.equal(catalogCalls, before + 1, 'the refusal is cached too');
  const anonymous = await facts.lookup(parseReference(`${reg.host}/library/ngiinx:1.14`), signal);
  t.match(anonymous, { status: 'not-found', what: 'repository', suggestions: [] }, 'anonymous clients get no catalog');
});

t.test('Docker Hub is never asked for a catalog: the Official Images list serves there', async (t) => {
  const before = catalogCalls;
  const r = await facts.lookup(parseReference('library/ngiinx:1.14.2'), signal);
  t.match(r, { status: 'not-found', what: 'repository' });
  t.same((r as { suggestions: string[] }).suggestions, ['nginx']);
  t.equal(catalogCalls, before);
});
