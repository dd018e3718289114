// Failure classification with real sockets: a server that never answers, servers answering
// 5xx/429, a closed port, an untrusted certificate, plain http. Every test is bounded.
import t from 'tap';
import { rejection } from '../helpers/registry-errors.js';
import { RegistryClient, RegistryError, type ManifestRef, type RegistryHostConfig } from '../../src/registry/index.js';
import { startHangingServer, startStatusServer, type TestServer } from '../helpers/hanging-server.js';
import { freePort } from '../helpers/ports.js';
import { seedStandardFixtures } from '../helpers/registry-fixtures.js';
import { startRegistry } from '../helpers/registry.js';

t.setTimeout(90_000);

function clientFor(host: string, cfg: RegistryHostConfig): RegistryClient {
  return new RegistryClient({ hosts: { [host]: cfg }, timeoutMs: 3000 });
}

function ref(host: string): ManifestRef {
  return { domain: host, path: 'library/nginx', reference: '1.14.2' };
}

function noAuthorizationIn(err: RegistryError): boolean {
  return !/authorization/i.test(err.message) && !/authorization/i.test(JSON.stringify(err));
}

t.test('a server that never answers -> timeout within the deadline', async (t) => {
  const srv = await startHangingServer();
  t.teardown(() => srv.stop());
  const timeoutMs = 700;
  const client = clientFor(srv.host, { ca: srv.caPem, allowPrivateNetwork: true, timeoutMs });
  t.teardown(() => client.close());
  const started = Date.now();
  const err = await rejection(client.headManifest(ref(srv.host), { credential: { username: 'u', password: 'hunter2-secret' } }));
  const elapsed = Date.now() - started;
  t.equal(err.kind, 'timeout');
  t.equal(err.temporary, true);
  t.match(err.message, /timed out after 700 ms/);
  t.ok(elapsed >= timeoutMs - 50, `elapsed ${elapsed} ms >= timeout`);
  t.ok(elapsed < timeoutMs + 500, `elapsed ${elapsed} ms < timeout + 500 ms slack`);
  t.equal(srv.connections(), 1);
  t.equal(srv.requests[0]?.url, '/v2/', 'it hung on the ping');
  t.ok(noAuthorizationIn(err));

  // A second call with a shorter caller signal stops at the caller's signal. (Wait for the
  // first call's shared ping to settle, so this call starts its own.)
  await new Promise((r) => setTimeout(r, 50));
  const started2 = Date.now();
  const err2 = await rejection(client.headManifest(ref(srv.host), { signal: AbortSignal.timeout(200) }));
  t.equal(err2.kind, 'timeout');
  t.match(err2.message, /aborted by caller/);
  t.ok(Date.now() - started2 < 200 + 400, 'stopped at the caller signal');
});

t.test('503 -> server, temporary, Retry-After honoured', async (t) => {
  const srv = await startStatusServer({ status: 503, headers: { 'retry-after': '7' }, body: { errors: [{ code: 'UNAVAILABLE', message: 'service unavailable' }] } });
  t.teardown(() => srv.stop());
  const client = clientFor(srv.host, { ca: srv.caPem, allowPrivateNetwork: true });
  t.teardown(() => client.close());
  const err = await rejection(client.headManifest(ref(srv.host)));
  t.equal(err.kind, 'server');
  t.equal(err.status, 503);
  t.equal(err.temporary, true);
  t.same(err.codes, ['UNAVAILABLE']);
  t.equal(err.detail, 'service unavailable');
  t.equal(err.retryAfterMs, 7000);
});

t.test('500 temporary, 501 not', async (t) => {
  for (const [status, temporary] of [
    [500, true],
    [501, false],
  ] as const) {
    const srv = await startStatusServer({ status });
    t.teardown(() => srv.stop());
    const client = clientFor(srv.host, { ca: srv.caPem, allowPrivateNetwork: true });
    t.teardown(() => client.close());
    const err = await rejection(client.headManifest(ref(srv.host)));
    t.equal(err.kind, 'server', `${status}`);
    t.equal(err.status, status);
    t.equal(err.temporary, temporary, `${status} temporary=${temporary}`);
  }
});

t.test('429 -> rate-limited with retryAfterMs', async (t) => {
  const cases: Array<[Record<string, string>, number]> = [
    [{ 'retry-after': '30' }, 30_000],
    [{ 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '0;w=21600' }, 21_600_000],
    [{ 'ratelimit-reset': '12' }, 12_000],
  ];
  for (const [headers, want] of cases) {
    const srv = await startStatusServer({
      status: 429,
      headers,
      body: { errors: [{ code: 'TOOMANYREQUESTS', message: 'You have reached your pull rate limit.' }] },
    });
    t.teardown(() => srv.stop());
    const client = clientFor(srv.host, { ca: srv.caPem, allowPrivateNetwork: true });
    t.teardown(() => client.close());
    const err = await rejection(client.headManifest(ref(srv.host)));
    t.equal(err.kind, 'rate-limited');
    t.equal(err.status, 429);
    t.equal(err.temporary, true);
    t.same(err.codes, ['TOOMANYREQUESTS']);
    t.equal(err.detail, 'You have reached your pull rate limit.');
    t.equal(err.retryAfterMs, want, JSON.stringify(headers));
  }
});

t.test('403 -> denied', async (t) => {
  const srv = await startStatusServer({ status: 403, body: { errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }] } });
  t.teardown(() => srv.stop());
  const client = clientFor(srv.host, { ca: srv.caPem, allowPrivateNetwork: true });
  t.teardown(() => client.close());
  const err = await rejection(client.headManifest(ref(srv.host)));
  t.equal(err.kind, 'denied');
  t.equal(err.status, 403);
  t.same(err.codes, ['DENIED']);
  t.equal(err.temporary, false);
});

t.test('a Bearer realm over plain http is refused (credentials would travel in clear)', async (t) => {
  const srv = await startStatusServer({
    status: 401,
    headers: { 'www-authenticate': 'Bearer realm="http://127.0.0.1:9/token",service="svc"' },
    body: { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
  });
  t.teardown(() => srv.stop());
  const client = clientFor(srv.host, { ca: srv.caPem, allowPrivateNetwork: true });
  t.teardown(() => client.close());
  const err = await rejection(client.headManifest(ref(srv.host), { credential: { username: 'u', password: 'p4ssword-secret' } }));
  t.equal(err.kind, 'blocked');
  t.match(err.message, /token realm that is not https/);
  t.equal(err.anonymous, false);
  t.ok(noAuthorizationIn(err));
  t.notOk(err.message.includes('p4ssword-secret'));
});

t.test('something that is not a registry -> protocol', async (t) => {
  const srv = await startStatusServer({ status: 404, body: '<html>not here</html>' });
  t.teardown(() => srv.stop());
  const client = clientFor(srv.host, { ca: srv.caPem, allowPrivateNetwork: true });
  t.teardown(() => client.close());
  const err = await rejection(client.headManifest(ref(srv.host)));
  t.equal(err.kind, 'protocol');
  t.equal(err.status, 404);
});

t.test('a huge manifest -> too-large without buffering it', async (t) => {
  // The ping answers 200 and so does everything else, with a body over the 4 MiB cap.
  const big = 'x'.repeat(5 * 1024 * 1024);
  const srv = await startStatusServer({ status: 200, body: big, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
  t.teardown(() => srv.stop());
  const client = clientFor(srv.host, { ca: srv.caPem, allowPrivateNetwork: true });
  t.teardown(() => client.close());
  const err = await rejection(client.getManifest(ref(srv.host)));
  t.equal(err.kind, 'too-large');
  t.equal(err.temporary, false);
  // HEAD 200 without Docker-Content-Digest is unusable: the fallback GET hits the cap too.
  const err2 = await rejection(client.headManifest(ref(srv.host)));
  t.equal(err2.kind, 'too-large');
});

t.test('connection refused -> network', async (t) => {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const client = clientFor(host, { allowPrivateNetwork: true });
  t.teardown(() => client.close());
  const err = await rejection(client.headManifest(ref(host)));
  t.equal(err.kind, 'network');
  t.equal(err.errno, 'ECONNREFUSED');
  t.equal(err.temporary, true);
  t.equal(err.url, `https://${host}/v2/`);
});

t.test('unknown host name -> network, not temporary', async (t) => {
  const notFound = ((hostname: string, _opts: unknown, cb: (err: NodeJS.ErrnoException | null) => void) => {
    const e: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
    e.code = 'ENOTFOUND';
    cb(e);
  }) as unknown as typeof import('node:dns').lookup;
  const client = new RegistryClient({ lookup: notFound, timeoutMs: 2000 });
  t.teardown(() => client.close());
  const err = await rejection(client.headManifest({ domain: 'registry.invalid', path: 'a/b', reference: 'latest' }));
  t.equal(err.kind, 'network');
  t.equal(err.errno, 'ENOTFOUND');
  t.equal(err.temporary, false);
});

t.test('untrusted certificate -> tls', async (t) => {
  const reg = await startRegistry({ auth: 'none' });
  t.teardown(() => reg.stop());
  // allowPrivateNetwork but no `ca`: the system store does not know the test CA.
  const client = clientFor(reg.host, { allowPrivateNetwork: true });
  t.teardown(() => client.close());
  const err = await rejection(client.headManifest(ref(reg.host)));
  t.equal(err.kind, 'tls');
  t.equal(err.temporary, false);
  t.match(err.errno, /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/);

  // Another CA than the one that signed the registry's certificate: still tls.
  const other = await startStatusServer({ status: 200 });
  t.teardown(() => other.stop());
  const client2 = clientFor(reg.host, { allowPrivateNetwork: true, ca: other.caPem });
  t.teardown(() => client2.close());
  t.equal((await rejection(client2.headManifest(ref(reg.host)))).kind, 'tls');
});

t.test('plain http registry: blocked unless insecure, then found', async (t) => {
  const reg = await startRegistry({ auth: 'none', plainHttp: true });
  t.teardown(() => reg.stop());
  const fixtures = await seedStandardFixturesHttp();
  async function seedStandardFixturesHttp() {
    // Fixtures speak whatever scheme reg.url has.
    return seedStandardFixtures(reg);
  }
  const strict = clientFor(reg.host, { server: reg.url, allowPrivateNetwork: true });
  t.teardown(() => strict.close());
  const err = await rejection(strict.headManifest(ref(reg.host)));
  t.equal(err.kind, 'blocked');
  t.match(err.message, /insecure/);

  const lax = clientFor(reg.host, { server: reg.url, insecure: true, allowPrivateNetwork: true });
  t.teardown(() => lax.close());
  t.equal((await lax.headManifest(ref(reg.host))).digest, fixtures['library/nginx:1.14.2']);

  // https client against the http server: the TLS handshake fails.
  const wrong = clientFor(reg.host, { allowPrivateNetwork: true });
  t.teardown(() => wrong.close());
  const tlsErr = await rejection(wrong.headManifest(ref(reg.host)));
  t.equal(tlsErr.kind, 'tls');
});

t.test('servers are stopped cleanly even with open sockets', async (t) => {
  const srv: TestServer = await startHangingServer();
  const client = clientFor(srv.host, { ca: srv.caPem, allowPrivateNetwork: true, timeoutMs: 5000 });
  const pending = rejection(client.headManifest(ref(srv.host)));
  await new Promise((r) => setTimeout(r, 200));
  await srv.stop();
  const err = await pending;
  t.equal(err.kind, 'network', 'the server hung up mid-request');
  await client.close();
});
