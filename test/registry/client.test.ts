// The client against a real CNCF Distribution 2.8 registry (docker-registry), TLS from the test
// CA, with no auth. Assertions are what the real server answers, not what we expect it to.
import t from 'tap';
import { rejection } from '../helpers/registry-errors.js';
import { RegistryClient, RegistryError } from '../../src/registry/index.js';
import { deleteManifest, pushImage, seedStandardFixtures, type StandardFixtures } from '../helpers/registry-fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

t.setTimeout(90_000);

let reg: TestRegistry;
let fixtures: StandardFixtures;
let client: RegistryClient;

t.before(async () => {
  reg = await startRegistry({ auth: 'none' });
  fixtures = await seedStandardFixtures(reg);
  client = new RegistryClient({
    hosts: { [reg.host]: { ca: reg.caPem, allowPrivateNetwork: true } },
    timeoutMs: 5000,
    userAgent: 'backoff-guard/test',
  });
});
t.teardown(async () => {
  await client?.close();
  await reg?.stop();
});

t.test('existing tag -> descriptor with the pushed digest', async (t) => {
  const d = await client.headManifest({ domain: reg.host, path: 'library/nginx', reference: '1.14.2' });
  t.equal(d.digest, fixtures['library/nginx:1.14.2']);
  t.equal(d.mediaType, 'application/vnd.oci.image.index.v1+json');
  t.type(d.size, 'number');
  t.ok(d.size! > 0);
});

t.test('two tags of one index resolve to the same digest; latest differs', async (t) => {
  const a = await client.headManifest({ domain: reg.host, path: 'library/nginx', reference: '1.14' });
  const b = await client.headManifest({ domain: reg.host, path: 'library/nginx', reference: 'latest' });
  t.equal(a.digest, fixtures['library/nginx:1.14.2']);
  t.equal(b.digest, fixtures['library/nginx:latest']);
  t.not(a.digest, b.digest);
});

t.test('Docker schema 2 image', async (t) => {
  const d = await client.headManifest({ domain: reg.host, path: 'library/busybox', reference: '1.36' });
  t.equal(d.digest, fixtures['library/busybox:1.36']);
  t.equal(d.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
});

t.test('by digest', async (t) => {
  const digest = fixtures['team/app:1.0']!;
  const d = await client.headManifest({ domain: reg.host, path: 'team/app', reference: digest });
  t.equal(d.digest, digest);
});

t.test('getManifest returns the verified body', async (t) => {
  const { descriptor, body } = await client.getManifest({ domain: reg.host, path: 'team/app', reference: '1.0' });
  t.equal(descriptor.digest, fixtures['team/app:1.0']);
  t.equal(descriptor.size, body.length);
  const manifest = JSON.parse(body.toString('utf8')) as { mediaType: string; config: { digest: string } };
  t.equal(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  t.match(manifest.config.digest, /^sha256:[a-f0-9]{64}$/);
});

t.test('missing tag -> not-found with MANIFEST_UNKNOWN (Distribution 2.8: 404)', async (t) => {
  const err = await rejection(client.headManifest({ domain: reg.host, path: 'library/nginx', reference: '9.9.9' }));
  t.equal(err.kind, 'not-found');
  t.equal(err.status, 404);
  t.same(err.codes, ['MANIFEST_UNKNOWN']);
  t.equal(err.detail, 'manifest unknown');
  t.equal(err.temporary, false);
  t.equal(err.anonymous, true);
  t.equal(err.host, reg.host);
  t.match(err.url, `${reg.url}/v2/library/nginx/manifests/9.9.9`);
});

t.test('missing repository -> not-found; Distribution 2.8 answers a manifest 404 with MANIFEST_UNKNOWN, tags/list with NAME_UNKNOWN', async (t) => {
  const err = await rejection(client.headManifest({ domain: reg.host, path: 'nobody/nothing', reference: 'latest' }));
  t.equal(err.kind, 'not-found');
  t.equal(err.status, 404);
  // Distribution 2.8 does not check the repository on manifest requests: an unknown
  // repository looks exactly like an unknown tag.
  t.same(err.codes, ['MANIFEST_UNKNOWN']);
  const tagsErr = await rejection(client.listTags({ domain: reg.host, path: 'nobody/nothing' }));
  t.equal(tagsErr.kind, 'not-found');
  t.equal(tagsErr.status, 404);
  t.same(tagsErr.codes, ['NAME_UNKNOWN']);
  t.equal(tagsErr.detail, 'repository name not known to registry');
});

t.test('missing digest -> not-found', async (t) => {
  const err = await rejection(client.headManifest({ domain: reg.host, path: 'team/app', reference: `sha256:${'0'.repeat(64)}` }));
  t.equal(err.kind, 'not-found');
  t.equal(err.status, 404);
  t.same(err.codes, ['MANIFEST_UNKNOWN']);
});

t.test('deleted manifest -> not-found', async (t) => {
  const pushed = await pushImage(reg, { repo: 'team/gone', tag: 'v1' });
  t.equal((await client.headManifest({ domain: reg.host, path: 'team/gone', reference: 'v1' })).digest, pushed.digest);
  await deleteManifest(reg, { repo: 'team/gone', digest: pushed.digest });
  const err = await rejection(client.headManifest({ domain: reg.host, path: 'team/gone', reference: pushed.digest }));
  t.equal(err.kind, 'not-found');
  t.same(err.codes, ['MANIFEST_UNKNOWN']);
});

t.test('listTags', async (t) => {
  const tags = await client.listTags({ domain: reg.host, path: 'library/nginx' });
  t.same([...tags].sort(), ['1.14', '1.14.2', 'latest']);
  const one = await client.listTags({ domain: reg.host, path: 'library/nginx' }, { max: 2 });
  t.equal(one.length, 2);
});

t.test('listTags follows Link pagination', async (t) => {
  const repo = 'team/many';
  const first = await pushImage(reg, { repo, tag: 't00' });
  const { tagManifest } = await import('../helpers/registry-fixtures.js');
  const want = ['t00'];
  for (let i = 1; i < 7; i++) {
    const tag = `t${String(i).padStart(2, '0')}`;
    await tagManifest(reg, { repo, digest: first.digest, tag });
    want.push(tag);
  }
  const all = await client.listTags({ domain: reg.host, path: repo });
  t.same([...all].sort(), want);
  // Distribution 2.8 ignores n= on tags/list: it answers every tag in one page, unsorted, with
  // no Link header. (Link pagination is exercised in pagination.test.ts.)
  const paged = await client.listTags({ domain: reg.host, path: repo }, { pageSize: 2 });
  t.same([...paged].sort(), want);
  const some = await client.listTags({ domain: reg.host, path: repo }, { max: 5, pageSize: 2 });
  t.equal(some.length, 5);
  t.same(some, all.slice(0, 5), 'max keeps the server order');
});

t.test('invalid names never reach the wire', async (t) => {
  for (const ref of [
    { domain: reg.host, path: '../../etc', reference: 'latest' },
    { domain: reg.host, path: 'Library/Nginx', reference: 'latest' },
    { domain: reg.host, path: 'library/nginx', reference: 'latest?x=1' },
    { domain: reg.host, path: 'library/nginx', reference: '../blobs/x' },
    { domain: 'evil.com/x', path: 'library/nginx', reference: 'latest' },
    { domain: 'user@evil.com', path: 'library/nginx', reference: 'latest' },
  ]) {
    const err = await rejection(client.headManifest(ref));
    t.equal(err.kind, 'protocol', JSON.stringify(ref));
  }
});

t.test('the external AbortSignal stops a call', async (t) => {
  const ac = new AbortController();
  ac.abort();
  const err = await rejection(client.headManifest({ domain: reg.host, path: 'library/nginx', reference: 'latest' }, { signal: ac.signal }));
  t.equal(err.kind, 'timeout');
  t.equal(err.temporary, true);
});
