// Authentication against real Distribution 2.8 registries: htpasswd (Basic) and token
// (Bearer, issued by test/helpers/token-server.ts and verified by the registry for real).
import t from 'tap';
import { rejection } from '../helpers/registry-errors.js';
import { inspect } from 'node:util';
import { RegistryClient, RegistryError, type Credential } from '../../src/registry/index.js';
import { seedStandardFixtures, type StandardFixtures } from '../helpers/registry-fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

t.setTimeout(120_000);

const PASSWORD = 'pa55-w0rd-secret';
const USERS = { alice: PASSWORD, bob: 'bob-secret-1' };
const REFRESH = 'refresh-token-of-alice-0123456789';
const alice: Credential = { username: 'alice', password: PASSWORD };

/** No credential material, and no Authorization header, in anything an error exposes. */
function leaks(err: RegistryError, secrets: string[]): string[] {
  const surfaces = [err.message, JSON.stringify(err), String(err.detail ?? ''), inspect(err, { depth: 5 })];
  return surfaces.flatMap((s) => [/authorization/i.test(s) ? 'Authorization' : '', ...secrets.filter((x) => s.includes(x))]).filter(Boolean);
}

function clientFor(reg: TestRegistry): RegistryClient {
  return new RegistryClient({ hosts: { [reg.host]: { ca: reg.caPem, allowPrivateNetwork: true } }, timeoutMs: 5000 });
}

t.test('htpasswd registry (Basic)', async (t) => {
  const reg = await startRegistry({ auth: 'htpasswd', users: USERS });
  t.teardown(() => reg.stop());
  const fixtures = await seedStandardFixtures(reg);
  const client = clientFor(reg);
  t.teardown(() => client.close());
  const ref = { domain: reg.host, path: 'private/app', reference: '1.0' };

  t.test('anonymous -> unauthorized (401 UNAUTHORIZED "authentication required")', async (t) => {
    const err = await rejection(client.headManifest(ref));
    t.equal(err.kind, 'unauthorized');
    t.equal(err.status, 401);
    t.same(err.codes, ['UNAUTHORIZED']);
    t.equal(err.detail, 'authentication required');
    t.equal(err.anonymous, true);
    t.equal(err.temporary, false);
  });

  t.test('correct credential -> found', async (t) => {
    const d = await client.headManifest(ref, { credential: { username: 'alice', password: PASSWORD } });
    t.equal(d.digest, fixtures['private/app:1.0']);
    // Basic registries protect every repository, public-looking names included.
    const tags = await client.listTags({ domain: reg.host, path: 'library/nginx' }, { credential: { username: 'bob', password: USERS.bob } });
    t.same([...tags].sort(), ['1.14', '1.14.2', 'latest']);
  });

  t.test('wrong password -> unauthorized, not anonymous, no secret in the error', async (t) => {
    const cred = { username: 'alice', password: 'wrong-password-123' };
    const err = await rejection(client.headManifest(ref, { credential: cred }));
    t.equal(err.kind, 'unauthorized');
    t.equal(err.status, 401);
    t.same(err.codes, ['UNAUTHORIZED']);
    t.equal(err.anonymous, false);
    t.same(leaks(err, [cred.password, Buffer.from(`alice:${cred.password}`).toString('base64')]), [], 'no Authorization header and no credential in message, JSON or inspect()');
  });

  t.test('missing tag with a good credential -> not-found, not unauthorized', async (t) => {
    const err = await rejection(client.headManifest({ ...ref, reference: 'nope' }, { credential: { username: 'alice', password: PASSWORD } }));
    t.equal(err.kind, 'not-found');
    t.same(err.codes, ['MANIFEST_UNKNOWN']);
    t.equal(err.anonymous, false);
  });
});

t.test('token registry (Bearer)', async (t) => {
  const reg = await startRegistry({ auth: 'token', users: USERS, tokenServer: { refreshTokens: { [REFRESH]: 'alice' }, access: { bob: ['team/*'] } } });
  t.teardown(() => reg.stop());
  const fixtures = await seedStandardFixtures(reg);
  const ts = reg.tokenServer!;

  t.test('anonymous, public repository -> found with an anonymous token', async (t) => {
    const client = clientFor(reg);
    t.teardown(() => client.close());
    const before = ts.requests.length;
    const d = await client.headManifest({ domain: reg.host, path: 'library/nginx', reference: '1.14.2' });
    t.equal(d.digest, fixtures['library/nginx:1.14.2']);
    const sent = ts.requests.slice(before);
    t.equal(sent.length, 1);
    t.equal(sent[0]!.authorization, false, 'no credential sent to the token server');
    t.same(sent[0]!.scopes, ['repository:library/nginx:pull']);
    t.equal(sent[0]!.service, ts.service);
  });

  t.test('anonymous, private repository -> unauthorized (401 UNAUTHORIZED, error="insufficient_scope")', async (t) => {
    const client = clientFor(reg);
    t.teardown(() => client.close());
    const err = await rejection(client.headManifest({ domain: reg.host, path: 'private/app', reference: '1.0' }));
    t.equal(err.kind, 'unauthorized');
    t.equal(err.status, 401);
    t.same(err.codes, ['UNAUTHORIZED']);
    t.equal(err.detail, 'authentication required; insufficient_scope');
    t.equal(err.anonymous, true);
  });

  t.test('credential, private repository -> found', async (t) => {
    const client = clientFor(reg);
    t.teardown(() => client.close());
    const before = ts.requests.length;
    const d = await client.headManifest({ domain: reg.host, path: 'private/app', reference: '1.0' }, { credential: alice });
    t.equal(d.digest, fixtures['private/app:1.0']);
    const sent = ts.requests.slice(before);
    t.equal(sent.length, 1);
    t.equal(sent[0]!.user, 'alice');
  });

  t.test('credential without access to the repository -> unauthorized, not anonymous', async (t) => {
    const client = clientFor(reg);
    t.teardown(() => client.close());
    const err = await rejection(client.headManifest({ domain: reg.host, path: 'private/app', reference: '1.0' }, { credential: { username: 'bob', password: USERS.bob } }));
    t.equal(err.kind, 'unauthorized');
    t.equal(err.anonymous, false);
    t.match(err.detail, /insufficient_scope/);
    // bob may read team/*.
    const d = await client.headManifest({ domain: reg.host, path: 'team/app', reference: '1.0' }, { credential: { username: 'bob', password: USERS.bob } });
    t.equal(d.digest, fixtures['team/app:1.0']);
  });

  t.test('wrong password -> unauthorized from the token server, no secret in the error', async (t) => {
    const client = clientFor(reg);
    t.teardown(() => client.close());
    const cred = { username: 'alice', password: 'not-the-password-42' };
    const err = await rejection(client.headManifest({ domain: reg.host, path: 'private/app', reference: '1.0' }, { credential: cred }));
    t.equal(err.kind, 'unauthorized');
    t.equal(err.status, 401);
    t.equal(err.anonymous, false);
    t.equal(err.detail, 'incorrect username or password');
    t.match(err.url, ts.realm);
    t.match(err.url, 'scope=repository');
    t.same(leaks(err, [cred.password, Buffer.from(`alice:${cred.password}`).toString('base64')]), [], 'no Authorization header and no credential in message, JSON or inspect()');
  });

  t.test('identity token (OAuth2 refresh_token grant) -> found', async (t) => {
    const client = clientFor(reg);
    t.teardown(() => client.close());
    const before = ts.requests.length;
    const d = await client.headManifest({ domain: reg.host, path: 'private/app', reference: '1.0' }, { credential: { username: 'alice', identityToken: REFRESH } });
    t.equal(d.digest, fixtures['private/app:1.0']);
    const sent = ts.requests.slice(before);
    t.equal(sent[0]?.method, 'POST');
    t.equal(sent[0]?.user, 'alice');
  });

  t.test('registry token is used as is (no token request)', async (t) => {
    const client = clientFor(reg);
    t.teardown(() => client.close());
    // Obtain a token the way a credential helper would, outside the client.
    const { request, Agent } = await import('undici');
    const agent = new Agent({ connect: { ca: reg.caPem } });
    t.teardown(() => agent.close());
    const u = new URL(ts.realm);
    u.searchParams.set('service', ts.service);
    u.searchParams.set('scope', 'repository:private/app:pull');
    const res = await request(u, { dispatcher: agent, headers: { authorization: `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}` } });
    const token = ((await res.body.json()) as { token: string }).token;
    const before = ts.requests.length;
    const d = await client.headManifest({ domain: reg.host, path: 'private/app', reference: '1.0' }, { credential: { registryToken: token } });
    t.equal(d.digest, fixtures['private/app:1.0']);
    t.equal(ts.requests.length, before);
  });

  t.test('token caching: the second lookup makes no token request', async (t) => {
    const client = clientFor(reg);
    t.teardown(() => client.close());
    const ref = { domain: reg.host, path: 'private/app', reference: '1.0' };
    const before = ts.requests.length;
    await client.headManifest(ref, { credential: alice });
    t.equal(ts.requests.length - before, 1);
    await client.headManifest(ref, { credential: alice });
    await client.getManifest(ref, { credential: alice });
    await client.listTags(ref, { credential: alice });
    t.equal(ts.requests.length - before, 1, 'same realm/service/scope/credential: cached');
    await client.headManifest({ ...ref, path: 'team/app' }, { credential: alice });
    t.equal(ts.requests.length - before, 2, 'another scope: a new token');
    await client.headManifest(ref, { credential: { username: 'alice', identityToken: REFRESH } });
    t.equal(ts.requests.length - before, 3, 'another credential: a new token');
    await rejection(client.headManifest(ref));
    t.equal(ts.requests.length - before, 4, 'anonymous: a new (anonymous) token');
    t.equal(client.tokenFetches, 4);
  });

  t.test('concurrent lookups for one scope share one token request', async (t) => {
    const client = clientFor(reg);
    t.teardown(() => client.close());
    const before = ts.requests.length;
    const results = await Promise.all(
      Array.from({ length: 12 }, () => client.headManifest({ domain: reg.host, path: 'private/app', reference: '1.0' }, { credential: alice })),
    );
    t.ok(results.every((d) => d.digest === fixtures['private/app:1.0']));
    t.equal(ts.requests.length - before, 1);
  });
});

t.test('token lifetimes', async (t) => {
  t.test('a token is fetched again once it expires', async (t) => {
    // 4 s (used for 3.6 s, see tokenExpiry's margin): long enough for two lookups on a loaded CI machine.
    const reg = await startRegistry({ auth: 'token', users: USERS, tokenServer: { expiresIn: 4 } });
    t.teardown(() => reg.stop());
    await seedStandardFixtures(reg);
    const client = clientFor(reg);
    t.teardown(() => client.close());
    const ts = reg.tokenServer!;
    const ref = { domain: reg.host, path: 'library/busybox', reference: '1.36' };
    const before = ts.requests.length;
    await client.headManifest(ref);
    await client.headManifest(ref);
    t.equal(ts.requests.length - before, 1, 'cached within expires_in');
    await new Promise((r) => setTimeout(r, 4100));
    await client.headManifest(ref);
    t.equal(ts.requests.length - before, 2, 'fetched again after expires_in');
  });

  t.test('no expires_in (60 s assumed) and access_token only', async (t) => {
    const reg = await startRegistry({ auth: 'token', users: USERS, tokenServer: { omitExpiresIn: true, accessTokenOnly: true } });
    t.teardown(() => reg.stop());
    const fixtures = await seedStandardFixtures(reg);
    const client = clientFor(reg);
    t.teardown(() => client.close());
    const ts = reg.tokenServer!;
    const before = ts.requests.length;
    const ref = { domain: reg.host, path: 'private/app', reference: '1.0' };
    t.equal((await client.headManifest(ref, { credential: alice })).digest, fixtures['private/app:1.0']);
    await client.headManifest(ref, { credential: alice });
    t.equal(ts.requests.length - before, 1);
  });
});
