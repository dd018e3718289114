// Redirect rules, with a real nginx in front of a real htpasswd registry:
//   - same origin: followed, Authorization kept;
//   - another origin (https): followed, Authorization dropped;
//   - https -> http: refused; more than 3 hops: refused.
import t from 'tap';
import { rejection } from '../helpers/registry-errors.js';
import { readFileSync } from 'node:fs';
import { RegistryClient, RegistryError } from '../../src/registry/index.js';
import { startStatusServer } from '../helpers/hanging-server.js';
import { proxyTo, startNginx } from '../helpers/nginx.js';
import { freePort } from '../helpers/ports.js';
import { seedStandardFixtures } from '../helpers/registry-fixtures.js';
import { startRegistry } from '../helpers/registry.js';

t.setTimeout(60_000);

t.test('redirects', async (t) => {
  const reg = await startRegistry({ auth: 'htpasswd', users: { alice: 'alice-password-1' } });
  t.teardown(() => reg.stop());
  const fixtures = await seedStandardFixtures(reg);
  const elsewhereDigest = `sha256:${'e'.repeat(64)}`;
  // The other origin (127.0.0.1:P2 vs 127.0.0.1:P1: another port is another origin), same CA so only
  // the Authorization rule is tested.
  const elsewhere = await startStatusServer({
    status: 200,
    headers: { 'docker-content-digest': elsewhereDigest, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    certs: { caFile: reg.caFile, certFile: reg.certFile, keyFile: reg.keyFile, caPem: reg.caPem, certPem: readFileSync(reg.certFile, 'utf8'), keyPem: readFileSync(reg.keyFile, 'utf8') },
  });
  t.teardown(() => elsewhere.stop());
  const port = await freePort();
  const nginx = await startNginx(
    `
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${reg.certFile};
    ssl_certificate_key ${reg.keyFile};
    location ^~ /v2/same/ { return 307 https://127.0.0.1:${port}/v2/private/app/manifests/1.0; }
    location ^~ /v2/cross/ { return 307 https://127.0.0.1:${elsewhere.port}$request_uri; }
    location ^~ /v2/downgrade/ { return 307 http://127.0.0.1:${elsewhere.port}$request_uri; }
    location ^~ /v2/loop/ { return 302 https://127.0.0.1:${port}$request_uri; }
    location / {
      ${proxyTo(reg.port)}
    }
  }`,
    port,
  );
  t.teardown(() => nginx.stop());
  const domain = `127.0.0.1:${port}`;
  const client = new RegistryClient({ hosts: { [domain]: { ca: reg.caPem, allowPrivateNetwork: true } }, timeoutMs: 5000 });
  t.teardown(() => client.close());
  const credential = { username: 'alice', password: 'alice-password-1' };

  t.test('through the proxy without redirect', async (t) => {
    const d = await client.headManifest({ domain, path: 'private/app', reference: '1.0' }, { credential });
    t.equal(d.digest, fixtures['private/app:1.0']);
  });

  t.test('same-origin redirect keeps Authorization', async (t) => {
    const d = await client.headManifest({ domain, path: 'same/app', reference: 'x' }, { credential });
    t.equal(d.digest, fixtures['private/app:1.0'], 'the htpasswd registry accepted the forwarded credential');
  });

  t.test('cross-origin redirect drops Authorization', async (t) => {
    const before = elsewhere.requests.length;
    const d = await client.headManifest({ domain, path: 'cross/app', reference: '1.0' }, { credential });
    t.equal(d.digest, elsewhereDigest);
    const got = elsewhere.requests.slice(before);
    t.equal(got.length, 1);
    t.equal(got[0]?.url, '/v2/cross/app/manifests/1.0');
    t.equal(got[0]?.headers.authorization, undefined, 'no Authorization sent to another host');
    t.match(String(got[0]?.headers.accept), /application\/vnd\.oci\.image\.index\.v1\+json/);
  });

  t.test('https -> http redirect is refused', async (t) => {
    const before = elsewhere.connections();
    const err = await rejection(client.headManifest({ domain, path: 'downgrade/app', reference: '1.0' }, { credential }));
    t.equal(err.kind, 'protocol');
    t.match(err.message, /refusing redirect to http:/);
    t.equal(elsewhere.connections(), before);
  });

  t.test('more than 3 redirects are refused', async (t) => {
    const err = await rejection(client.headManifest({ domain, path: 'loop/app', reference: '1.0' }, { credential }));
    t.equal(err.kind, 'protocol');
    t.match(err.message, /more than 3 redirects/);
  });
});
