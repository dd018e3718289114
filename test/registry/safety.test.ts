// Registry safety with real servers on 127.0.0.1 (issue 4, "Safety"):
//   - a registry configured `allowPrivateNetwork` reaches its own loopback address, but a
//     redirect it sends elsewhere is re-checked on every hop: link-local, metadata, loopback
//     in another spelling, a name resolving to loopback: all refused before connecting;
//   - metadata addresses written in decimal, hex, octal or IPv4-mapped IPv6 are refused;
//   - a Bearer realm with user info, on a metadata address, or on a name resolving to loopback
//     is refused; the trap server counts connections, and none arrives.
// Addresses outside 127.0.0.0/8 are never connected to: each such case first checks that the
// literal guard refuses it ("guard the guard"), so a regression cannot send them traffic.
import t from 'tap';
import { rejection, fakeLookup } from '../helpers/registry-errors.js';
import type { LookupAddress } from 'node:dns';
import { RegistryClient, RegistryError, type ManifestRef } from '../../src/registry/index.js';
import { checkLiteralHost, type LookupFunction } from '../../src/registry/guard.js';
import { startStatusServer } from '../helpers/hanging-server.js';
import { proxyTo, startNginx } from '../helpers/nginx.js';
import { freePort } from '../helpers/ports.js';
import { pushImage } from '../helpers/registry-fixtures.js';
import { startRegistry } from '../helpers/registry.js';

t.setTimeout(90_000);

/** The URL hostname a target would be connected to must be refused by the literal guard. */
function guardRefuses(t: { fail(message: string): unknown }, target: string): boolean {
  const hostname = new URL(`https://${target}`).hostname;
  const refusal = checkLiteralHost(hostname);
  if (!refusal) t.fail(`literal guard does not refuse ${target} (${hostname}); not calling the client`);
  return !!refusal;
}

t.test('redirects from an allowed registry are re-checked on every hop', async (t) => {
  const reg = await startRegistry({ auth: 'none' });
  t.teardown(() => reg.stop());
  const pushed = await pushImage(reg, { repo: 'team/app', tag: '1.0' });
  const trap = await startStatusServer({ status: 200, headers: { 'docker-content-digest': `sha256:${'a'.repeat(64)}` } });
  t.teardown(() => trap.stop());
  const port = await freePort();
  const nginx = await startNginx(
    `
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${reg.certFile};
    ssl_certificate_key ${reg.keyFile};
    location ^~ /v2/to-metadata/ { return 307 https://169.254.169.254/latest/meta-data/; }
    location ^~ /v2/to-link-local/ { return 307 https://169.254.10.10$request_uri; }
    location ^~ /v2/to-mapped-metadata/ { return 307 https://[::ffff:a9fe:a9fe]$request_uri; }
    location ^~ /v2/to-mapped-loopback/ { return 302 https://[::ffff:7f00:1]:${trap.port}$request_uri; }
    location ^~ /v2/to-name/ { return 307 https://trap.test:${trap.port}$request_uri; }
    location ^~ /v2/to-decimal/ { return 307 https://2852039166/latest/meta-data/; }
    location / {
      ${proxyTo(reg.port)}
    }
  }`,
    port,
  );
  t.teardown(() => nginx.stop());
  const domain = `127.0.0.1:${port}`;
  const lookup = fakeLookup({ 'trap.test': ['127.0.0.1'] });
  const client = new RegistryClient({ hosts: { [domain]: { ca: [reg.caPem, trap.caPem], allowPrivateNetwork: true } }, lookup, timeoutMs: 2000 });
  t.teardown(() => client.close());
  const ref = (path: string): ManifestRef => ({ domain, path, reference: '1.0' });

  t.test('the configured registry itself is reachable on loopback', async (t) => {
    t.equal((await client.headManifest(ref('team/app'))).digest, pushed.digest);
  });

  const literal: Array<[string, string, RegExp]> = [
    ['to-metadata/app', '169.254.169.254', /metadata address 169\.254\.169\.254/],
    ['to-link-local/app', '169.254.10.10', /link-local address 169\.254\.10\.10/],
    ['to-mapped-metadata/app', '[::ffff:a9fe:a9fe]', /metadata address/],
    ['to-decimal/app', '2852039166', /metadata address 169\.254\.169\.254/],
  ];
  for (const [path, target, message] of literal) {
    t.test(`a redirect to ${target} is refused`, async (t) => {
      if (!guardRefuses(t, target)) return;
      const err = await rejection(client.headManifest(ref(path)));
      t.equal(err.kind, 'blocked');
      t.equal(err.errno, 'EBLOCKED');
      t.match(err.message, message);
    });
  }

  t.test('a redirect to loopback in another spelling is refused: nothing reaches the trap', async (t) => {
    const err = await rejection(client.headManifest(ref('to-mapped-loopback/app')));
    t.equal(err.kind, 'blocked');
    t.match(err.message, /loopback/);
    t.equal(trap.connections(), 0);
  });

  t.test('a redirect to a name that resolves to loopback is refused: nothing reaches the trap', async (t) => {
    const err = await rejection(client.headManifest(ref('to-name/app')));
    t.equal(err.kind, 'blocked');
    t.match(err.message, /trap\.test.*127\.0\.0\.1/);
    t.ok(lookup.calls.includes('trap.test'));
    t.equal(trap.connections(), 0);
  });
});

t.test('metadata addresses in every spelling are refused as registry domains', async (t) => {
  const client = new RegistryClient({ timeoutMs: 300 });
  t.teardown(() => client.close());
  // decimal, hex, octal, dotted hex, IPv4-mapped IPv6 (hex and dotted), NAT64, Alibaba, AWS IPv6
  const domains = [
    '2852039166:443',
    '0xa9fea9fe:443',
    '0251.0376.0251.0376:443',
    '0xa9.0xfe.0xa9.0xfe',
    '[::ffff:a9fe:a9fe]:443',
    '[::ffff:169.254.169.254]',
    '[64:ff9b::a9fe:a9fe]',
    '100.100.100.200',
    '[fd00:ec2::254]',
    '[fe80::1]:5000',
    '0.0.0.0:5000',
  ];
  for (const domain of domains) {
    if (!guardRefuses(t, domain)) continue;
    const err = await rejection(client.headManifest({ domain, path: 'latest/meta-data', reference: 'latest' }));
    t.equal(err.kind, 'blocked', `${domain} -> blocked`);
  }
});

t.test('Bearer realms: https only, no user info, guarded', async (t) => {
  const trap = await startStatusServer({ status: 200, body: { token: 'x' } });
  t.teardown(() => trap.stop());
  const lookup = fakeLookup({ 'trap.test': ['127.0.0.1'] });
  const cases: Array<[realm: string, message: RegExp, guardTarget?: string]> = [
    [`https://user:pass@127.0.0.1:${trap.port}/token`, /realm with user info/],
    ['https://169.254.169.254/token', /metadata address/, '169.254.169.254'],
    [`https://trap.test:${trap.port}/token`, /trap\.test.*127\.0\.0\.1/],
    [`http://127.0.0.1:${trap.port}/token`, /realm that is not https/],
  ];
  for (const [realm, message, guardTarget] of cases) {
    if (guardTarget && !guardRefuses(t, guardTarget)) continue;
    const srv = await startStatusServer({
      status: 401,
      headers: { 'www-authenticate': `Bearer realm="${realm}",service="reg"` },
      body: { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
    });
    t.teardown(() => srv.stop());
    const client = new RegistryClient({ hosts: { [srv.host]: { ca: srv.caPem, allowPrivateNetwork: true } }, lookup, timeoutMs: 2000 });
    t.teardown(() => client.close());
    const err = await rejection(client.headManifest({ domain: srv.host, path: 'team/app', reference: '1.0' }, { credential: { username: 'u', password: 'realm-secret-1' } }));
    t.equal(err.kind, 'blocked', realm);
    t.match(err.message, message, realm);
    t.notMatch(err.message, /realm-secret-1|user:pass/, 'neither the credential nor the realm user info is shown');
  }
  t.equal(trap.connections(), 0, 'no realm request reached the trap');
});
