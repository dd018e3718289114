// Mirrors with containerd's hosts.toml semantics and per-registry TLS settings, against real
// registries and a real nginx on 127.0.0.1:
//   - mirrors in order, then the upstream unless `upstream: false`;
//   - the first success wins; all failing: the first non-404 error, else not-found;
//   - mirror requests carry ?ns=<domain>, as containerd's do;
//   - a client certificate for a registry that requires mutual TLS.
import t from 'tap';
import { rejection } from '../helpers/registry-errors.js';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RegistryClient, RegistryError } from '../../src/registry/index.js';
import { proxyTo, readAccessLog, startNginx } from '../helpers/nginx.js';
import { freePort } from '../helpers/ports.js';
import { pushImage } from '../helpers/registry-fixtures.js';
import { startRegistry } from '../helpers/registry.js';

t.setTimeout(90_000);
const run = promisify(execFile);

t.test('mirrors', async (t) => {
  const mirror = await startRegistry({ auth: 'none' });
  t.teardown(() => mirror.stop());
  const upstream = await startRegistry({ auth: 'none' });
  t.teardown(() => upstream.stop());
  const onMirror = await pushImage(mirror, { repo: 'library/app', tag: '1.0' });
  const onUpstream = await pushImage(upstream, { repo: 'library/app', tag: '2.0' });
  const dir = mkdtempSync(join(tmpdir(), 'bg-mirror-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const accessLog = join(dir, 'access.log');
  const port = await freePort();
  // The mirror behind nginx, to see the query string the client sends.
  const nginx = await startNginx(
    `
  log_format calls '$request_method $uri $args $status';
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${mirror.certFile};
    ssl_certificate_key ${mirror.keyFile};
    access_log ${accessLog} calls;
    location / {
      ${proxyTo(mirror.port)}
    }
  }`,
    port,
  );
  t.teardown(() => nginx.stop());
  const mirrorUrl = `https://127.0.0.1:${port}`;
  const dead = `https://127.0.0.1:${await freePort()}`;
  const mirrorCfg = { server: mirrorUrl, ca: mirror.caPem, allowPrivateNetwork: true };

  t.test('upstream unreachable, the mirror has the image: found through the mirror', async (t) => {
    const client = new RegistryClient({
      timeoutMs: 2000,
      hosts: { 'registry.example.com': { server: dead, allowPrivateNetwork: true, mirrors: [mirrorCfg] } },
    });
    t.teardown(() => client.close());
    const d = await client.headManifest({ domain: 'registry.example.com', path: 'library/app', reference: '1.0' });
    t.equal(d.digest, onMirror.digest);
    t.equal(d.mirror, `127.0.0.1:${port}`);
    const log = await readAccessLog(accessLog, (l) => l.includes('/manifests/1.0'));
    t.match(log, /HEAD \/v2\/library\/app\/manifests\/1\.0 ns=registry\.example\.com 200/, 'the mirror was asked with ?ns=<domain>');
  });

  t.test('the mirror lacks it: the upstream is asked next', async (t) => {
    const client = new RegistryClient({
      timeoutMs: 2000,
      hosts: { 'registry.example.com': { server: upstream.url, ca: upstream.caPem, allowPrivateNetwork: true, mirrors: [mirrorCfg] } },
    });
    t.teardown(() => client.close());
    const d = await client.headManifest({ domain: 'registry.example.com', path: 'library/app', reference: '2.0' });
    t.equal(d.digest, onUpstream.digest);
    t.equal(d.mirror, undefined, 'answered by the upstream');
    const tags = await client.listTags({ domain: 'registry.example.com', path: 'library/app' });
    t.same(tags, ['1.0'], 'listTags also takes the first endpoint that answers');
  });

  t.test('mirrors in order: a dead first mirror, then the live one', async (t) => {
    const client = new RegistryClient({
      timeoutMs: 2000,
      hosts: { 'registry.example.com': { upstream: false, mirrors: [{ server: dead, allowPrivateNetwork: true }, mirrorCfg] } },
    });
    t.teardown(() => client.close());
    t.equal((await client.headManifest({ domain: 'registry.example.com', path: 'library/app', reference: '1.0' })).digest, onMirror.digest);
  });

  t.test('upstream: false: a miss on the mirrors is final', async (t) => {
    const client = new RegistryClient({
      timeoutMs: 2000,
      hosts: { 'registry.example.com': { server: upstream.url, ca: upstream.caPem, allowPrivateNetwork: true, upstream: false, mirrors: [mirrorCfg] } },
    });
    t.teardown(() => client.close());
    const err = await rejection(client.headManifest({ domain: 'registry.example.com', path: 'library/app', reference: '2.0' }));
    t.equal(err.kind, 'not-found');
  });

  t.test('all endpoints fail: the first error that is not a 404 wins (containerd)', async (t) => {
    const client = new RegistryClient({
      timeoutMs: 2000,
      hosts: { 'registry.example.com': { server: dead, allowPrivateNetwork: true, mirrors: [mirrorCfg] } },
    });
    t.teardown(() => client.close());
    const err = await rejection(client.headManifest({ domain: 'registry.example.com', path: 'library/app', reference: '9.9' }));
    t.equal(err.kind, 'network', 'mirror 404, upstream refused: the network error is reported');
    t.equal(err.errno, 'ECONNREFUSED');
  });
});

t.test('client certificate for a registry that requires mutual TLS', async (t) => {
  const reg = await startRegistry({ auth: 'none' });
  t.teardown(() => reg.stop());
  const pushed = await pushImage(reg, { repo: 'team/app', tag: '1.0' });
  const dir = mkdtempSync(join(tmpdir(), 'bg-mtls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const f = (n: string) => join(dir, n);
  const ossl = (args: string[]) => run('openssl', args, { timeout: 30_000 });
  await ossl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('client-ca.key')]);
  await ossl(['req', '-x509', '-new', '-key', f('client-ca.key'), '-sha256', '-days', '2', '-subj', '/CN=client CA', '-out', f('client-ca.crt')]);
  await ossl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('client.key')]);
  await ossl(['req', '-new', '-key', f('client.key'), '-subj', '/CN=backoff-guard', '-out', f('client.csr')]);
  await ossl(['x509', '-req', '-in', f('client.csr'), '-CA', f('client-ca.crt'), '-CAkey', f('client-ca.key'), '-CAcreateserial', '-days', '2', '-out', f('client.crt')]);
  const port = await freePort();
  const nginx = await startNginx(
    `
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${reg.certFile};
    ssl_certificate_key ${reg.keyFile};
    ssl_client_certificate ${f('client-ca.crt')};
    ssl_verify_client on;
    location / {
      ${proxyTo(reg.port)}
    }
  }`,
    port,
  );
  t.teardown(() => nginx.stop());
  const domain = `127.0.0.1:${port}`;
  const withCert = new RegistryClient({
    timeoutMs: 3000,
    hosts: { [domain]: { ca: reg.caPem, allowPrivateNetwork: true, cert: readFileSync(f('client.crt'), 'utf8'), key: readFileSync(f('client.key'), 'utf8') } },
  });
  t.teardown(() => withCert.close());
  t.equal((await withCert.headManifest({ domain, path: 'team/app', reference: '1.0' })).digest, pushed.digest);
  const without = new RegistryClient({ timeoutMs: 3000, hosts: { [domain]: { ca: reg.caPem, allowPrivateNetwork: true } } });
  t.teardown(() => without.close());
  const err = await rejection(without.headManifest({ domain, path: 'team/app', reference: '1.0' }));
  t.equal(err.kind, 'protocol', 'nginx answers 400 "No required SSL certificate was sent"');
  t.equal(err.status, 400);
});
