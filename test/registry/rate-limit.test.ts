// Rate limits and the concurrency cap, with a real nginx in front of a real registry:
//   - existence checks are HEAD requests (Docker Hub does not count HEAD against the quota);
//   - ratelimit-limit / ratelimit-remaining ("N;w=SECONDS") are read from the answer;
//   - a 429 (nginx limit_req) backs the registry off until Retry-After: no request is sent
//     until then (nginx's access log proves it), then calls resume;
//   - never more than maxConcurrentPerHost requests in flight to one registry.
import t from 'tap';
import { rejection } from '../helpers/registry-errors.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient, RegistryError } from '../../src/registry/index.js';
import { startHangingServer } from '../helpers/hanging-server.js';
import { proxyTo, readAccessLog, startNginx } from '../helpers/nginx.js';
import { freePort } from '../helpers/ports.js';
import { pushImage } from '../helpers/registry-fixtures.js';
import { startRegistry } from '../helpers/registry.js';

t.setTimeout(90_000);

t.test('429 from nginx limit_req: warn data, back off until Retry-After, resume', async (t) => {
  const reg = await startRegistry({ auth: 'none' });
  t.teardown(() => reg.stop());
  for (const tag of ['1', '2', '3', '4']) await pushImage(reg, { repo: 'team/app', tag });
  const dir = mkdtempSync(join(tmpdir(), 'bg-ratelimit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const accessLog = join(dir, 'access.log');
  const port = await freePort();
  // One manifest request per 2 s; what the registry says about the quota depends on the answer.
  const nginx = await startNginx(
    `
  limit_req_zone $server_port zone=pulls:1m rate=30r/m;
  log_format calls '$request_method $uri $status';
  map $status $rl_remaining { 429 "0;w=2"; default "3;w=21600"; }
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${reg.certFile};
    ssl_certificate_key ${reg.keyFile};
    access_log ${accessLog} calls;
    location ~ /manifests/ {
      limit_req zone=pulls nodelay;
      limit_req_status 429;
      add_header ratelimit-limit "100;w=21600" always;
      add_header ratelimit-remaining $rl_remaining always;
      add_header docker-ratelimit-source "203.0.113.7" always;
      add_header retry-after 2 always;
      ${proxyTo(reg.port)}
    }
    location / {
      ${proxyTo(reg.port)}
    }
  }`,
    port,
  );
  t.teardown(() => nginx.stop());
  const manifestCalls = () =>
    readFileSync(accessLog, 'utf8')
      .split('\n')
      .filter((l) => l.includes('/manifests/'));
  const domain = `127.0.0.1:${port}`;
  const client = new RegistryClient({ hosts: { [domain]: { ca: reg.caPem, allowPrivateNetwork: true } }, timeoutMs: 3000 });
  t.teardown(() => client.close());

  const first = await client.headManifest({ domain, path: 'team/app', reference: '1' });
  t.same(first.rateLimit, { limit: 100, remaining: 3, windowS: 21600, source: '203.0.113.7' }, 'quota headers read from a HEAD answer');

  const started = Date.now();
  const limited = await rejection(client.headManifest({ domain, path: 'team/app', reference: '2' }));
  t.equal(limited.kind, 'rate-limited');
  t.equal(limited.status, 429);
  t.equal(limited.retryAfterMs, 2000);
  t.ok(client.backoffUntil(domain) >= started + 1900, 'the registry is backed off for Retry-After');
  const before = manifestCalls().length;

  const during = await rejection(client.headManifest({ domain, path: 'team/app', reference: '3' }));
  t.equal(during.kind, 'rate-limited', 'still rate-limited while backed off');
  t.match(during.message, /backing off until .* \(no request sent\)/);
  t.ok(during.retryAfterMs! > 0 && during.retryAfterMs! <= 2000);
  const tags = await rejection(client.listTags({ domain, path: 'team/app' }));
  t.equal(tags.kind, 'rate-limited', 'every call to the registry waits, not only manifests');
  t.equal(manifestCalls().length, before, 'nothing was sent to the registry while backed off');

  await new Promise((r) => setTimeout(r, Math.max(0, client.backoffUntil(domain) - Date.now()) + 150));
  t.equal(client.backoffUntil(domain), 0);
  const after = await client.headManifest({ domain, path: 'team/app', reference: '4' });
  t.ok(after.digest, 'calls resume after the reset');
  // nginx writes its access-log line after the answer is sent: wait for it rather than race it.
  await readAccessLog(accessLog, (l) => l.split('\n').filter((x) => x.includes('/manifests/')).length >= 3);
  const calls = manifestCalls();
  t.same(
    calls.map((l) => l.split(' ')[0]),
    calls.map(() => 'HEAD'),
    'existence checks were HEAD requests only',
  );
  t.same(
    calls.map((l) => l.split(' ')[2]),
    ['200', '429', '200'],
  );
});

t.test('never more than maxConcurrentPerHost requests in flight to one registry', async (t) => {
  const hanging = await startHangingServer();
  t.teardown(() => hanging.stop());
  const port = await freePort();
  const certs = (await import('../../src/tls/dev-certs.js')).generateCertificates;
  const dir = mkdtempSync(join(tmpdir(), 'bg-cap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const tls = await certs({ dir, hosts: ['127.0.0.1'] });
  const nginx = await startNginx(
    `
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${tls.certFile};
    ssl_certificate_key ${tls.keyFile};
    location = /v2/ { return 200 '{}'; }
    location / {
      proxy_pass https://127.0.0.1:${hanging.port};
      proxy_ssl_verify off;
      proxy_read_timeout 60s;
    }
  }`,
    port,
  );
  t.teardown(() => nginx.stop());
  const domain = `127.0.0.1:${port}`;
  const client = new RegistryClient({ hosts: { [domain]: { ca: tls.caPem, allowPrivateNetwork: true } }, timeoutMs: 1500, maxConcurrentPerHost: 2 });
  t.teardown(() => client.close());
  const calls = Array.from({ length: 6 }, (_, i) => rejection(client.headManifest({ domain, path: 'team/app', reference: `v${i}` })));
  await new Promise((r) => setTimeout(r, 700));
  t.equal(client.inFlight(domain), 2, 'two requests in flight');
  t.equal(hanging.requests.length, 2, 'the upstream saw two requests, the others wait for a slot');
  const errors = await Promise.all(calls);
  t.same(
    errors.map((e) => e.kind),
    errors.map(() => 'timeout'),
    'waiting for a slot counts against the deadline',
  );
  t.equal(hanging.requests.length, 2, 'still only two after all deadlines');
  t.equal(client.inFlight(domain), 0, 'slots are released');
});
