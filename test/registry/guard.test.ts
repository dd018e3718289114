// The SSRF guard: address classification (pure), the pinned lookup, and the client refusing
// to connect — checked by counting connections on servers we started. Addresses outside
// 127.0.0.0/8 are only ever classified here, never connected to.
import t from 'tap';
import { rejection, fakeLookup } from '../helpers/registry-errors.js';
import type { LookupAddress } from 'node:dns';
import { RegistryClient, RegistryError } from '../../src/registry/index.js';
import { blockedReason, checkLiteralHost, guardedLookup, type LookupFunction } from '../../src/registry/guard.js';
import { startStatusServer } from '../helpers/hanging-server.js';
import { seedStandardFixtures } from '../helpers/registry-fixtures.js';
import { startRegistry } from '../helpers/registry.js';

t.setTimeout(60_000);

t.test('blockedReason table', async (t) => {
  const table: Array<[string, string | undefined]> = [
    ['127.0.0.1', 'loopback'],
    ['127.1.2.3', 'loopback'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['169.254.169.254', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    // IPv4 hidden in IPv6
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:7f00:0001', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::169.254.169.254', 'metadata'],
    ['::ffff:0.0.0.0', 'unspecified'],
    // allowed: public, RFC 1918, CGNAT, ULA, mapped public
    ['8.8.8.8', undefined],
    ['10.0.0.1', undefined],
    ['172.16.0.1', undefined],
    ['172.31.255.254', undefined],
    ['192.168.1.10', undefined],
    ['100.64.0.1', undefined],
    ['100.100.100.201', undefined],
    ['169.255.0.1', undefined],
    ['128.0.0.1', undefined],
    ['fd00::1', undefined],
    ['fd00:ec2::253', undefined],
    ['fec0::1', undefined],
    ['2001:db8::1', undefined],
    ['::ffff:10.0.0.1', undefined],
    ['::ffff:8.8.8.8', undefined],
    ['not-an-ip', undefined],
  ];
  for (const [ip, want] of table) t.equal(blockedReason(ip), want, ip);
});

t.test('checkLiteralHost handles URL hostnames', async (t) => {
  t.equal(checkLiteralHost(new URL('https://[::ffff:7f00:1]:5000/').hostname)?.reason, 'loopback');
  t.equal(checkLiteralHost(new URL('https://[::1]/').hostname)?.reason, 'loopback');
  t.equal(checkLiteralHost(new URL('https://169.254.169.254/').hostname)?.reason, 'metadata');
  // WHATWG URL normalises these IPv4 spellings to 127.0.0.1 before we see them.
  t.equal(checkLiteralHost(new URL('https://2130706433/').hostname)?.reason, 'loopback');
  t.equal(checkLiteralHost(new URL('https://0x7f.1/').hostname)?.reason, 'loopback');
  t.equal(checkLiteralHost(new URL('https://10.1.2.3/').hostname), undefined);
  t.equal(checkLiteralHost('registry.example.com'), undefined);
});

t.test('guardedLookup resolves all addresses, refuses if any is forbidden, pins the checked ones', async (t) => {
  const base = fakeLookup({ 'ok.test': ['10.1.2.3', '192.168.0.7'], 'mixed.test': ['10.1.2.3', '127.0.0.1'], 'meta.test': ['169.254.169.254'], 'v6.test': ['::ffff:127.0.0.1'] });
  const lookup = guardedLookup(base);
  const call = (host: string, all: boolean) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family?: number }>((resolve) => lookup(host, { all }, (err, address, family) => resolve({ err, address, ...(family !== undefined ? { family } : {}) })));
  const one = await call('ok.test', false);
  t.equal(one.err, null);
  t.equal(one.address, '10.1.2.3');
  t.equal(one.family, 4);
  const all = await call('ok.test', true);
  t.same(all.address, [
    { address: '10.1.2.3', family: 4 },
    { address: '192.168.0.7', family: 4 },
  ]);
  for (const host of ['mixed.test', 'meta.test', 'v6.test']) {
    const r = await call(host, true);
    t.equal(r.err?.code, 'EBLOCKED', host);
  }
  t.equal((await call('missing.test', false)).err?.code, 'ENOTFOUND');
  t.same(base.calls.slice(0, 2), ['ok.test', 'ok.test'], 'one resolution per connection attempt');
});

t.test('the client refuses before connecting', async (t) => {
  // A real server on 127.0.0.1 that counts connections: none may arrive.
  const srv = await startStatusServer({ status: 200 });
  t.teardown(() => srv.stop());
  const port = srv.port;

  t.test('127.0.0.1 without allowPrivateNetwork -> blocked, no connection', async (t) => {
    const client = new RegistryClient({ hosts: { [srv.host]: { ca: srv.caPem } } });
    t.teardown(() => client.close());
    const err = await rejection(client.headManifest({ domain: srv.host, path: 'library/nginx', reference: 'latest' }));
    t.equal(err.kind, 'blocked');
    t.equal(err.temporary, false);
    t.equal(err.errno, 'EBLOCKED');
    t.match(err.message, /loopback/);
    t.equal(srv.connections(), 0);
  });

  t.test('IPv4-mapped IPv6 [::ffff:7f00:1] -> blocked, no connection', async (t) => {
    const domain = `[::ffff:7f00:1]:${port}`;
    const client = new RegistryClient({ hosts: { [domain]: { ca: srv.caPem } } });
    t.teardown(() => client.close());
    const err = await rejection(client.headManifest({ domain, path: 'library/nginx', reference: 'latest' }));
    t.equal(err.kind, 'blocked');
    t.equal(srv.connections(), 0);
  });

  t.test('a host name resolving to 127.0.0.1 -> blocked, no connection', async (t) => {
    const lookup = fakeLookup({ 'innocent.example': ['127.0.0.1'] });
    const domain = `innocent.example:${port}`;
    const client = new RegistryClient({ hosts: { [domain]: { ca: srv.caPem } }, lookup });
    t.teardown(() => client.close());
    const err = await rejection(client.headManifest({ domain, path: 'library/nginx', reference: 'latest' }));
    t.equal(err.kind, 'blocked');
    t.equal(err.errno, 'EBLOCKED');
    t.match(err.message, /innocent\.example.*127\.0\.0\.1/);
    t.ok(lookup.calls.includes('innocent.example'), 'the name was resolved through the injected lookup');
    t.equal(srv.connections(), 0);
  });

  t.test('localhost through the system resolver -> blocked, no connection', async (t) => {
    const domain = `localhost:${port}`;
    const client = new RegistryClient({ hosts: { [domain]: { ca: srv.caPem } } });
    t.teardown(() => client.close());
    const err = await rejection(client.headManifest({ domain, path: 'library/nginx', reference: 'latest' }));
    t.equal(err.kind, 'blocked');
    t.equal(srv.connections(), 0);
  });

  t.test('a server override pointing at loopback is guarded too', async (t) => {
    const client = new RegistryClient({ hosts: { 'registry.example.com': { server: srv.url, ca: srv.caPem } } });
    t.teardown(() => client.close());
    const err = await rejection(client.headManifest({ domain: 'registry.example.com', path: 'library/nginx', reference: 'latest' }));
    t.equal(err.kind, 'blocked');
    t.equal(srv.connections(), 0);
  });

  t.test('169.254.169.254 -> blocked before any packet is sent', async (t) => {
    // Guard the guard: only call the client if the literal check refuses this address, so a
    // regression can never make this test send traffic to the metadata address.
    if (checkLiteralHost('169.254.169.254')?.reason !== 'metadata') {
      t.fail('literal check does not refuse 169.254.169.254; not calling the client');
      return;
    }
    const client = new RegistryClient({ timeoutMs: 300 });
    t.teardown(() => client.close());
    const err = await rejection(client.headManifest({ domain: '169.254.169.254', path: 'latest/meta-data', reference: 'latest' }));
    t.equal(err.kind, 'blocked');
    t.match(err.message, /metadata/);
  });
});

t.test('allowPrivateNetwork: a name pinned by the injected lookup reaches the real registry', async (t) => {
  const reg = await startRegistry({ auth: 'none', hosts: ['registry.test'] });
  t.teardown(() => reg.stop());
  const fixtures = await seedStandardFixtures(reg);
  const lookup = fakeLookup({ 'registry.test': ['127.0.0.1'] });
  const domain = `registry.test:${reg.port}`;
  const client = new RegistryClient({ hosts: { [domain]: { ca: reg.caPem, allowPrivateNetwork: true } }, lookup });
  t.teardown(() => client.close());
  const d = await client.headManifest({ domain, path: 'library/nginx', reference: '1.14.2' });
  t.equal(d.digest, fixtures['library/nginx:1.14.2']);
  t.ok(lookup.calls.includes('registry.test'));
  // Same registry, same lookup, but without allowPrivateNetwork: refused.
  const strict = new RegistryClient({ hosts: { [domain]: { ca: reg.caPem } }, lookup });
  t.teardown(() => strict.close());
  t.equal((await rejection(strict.headManifest({ domain, path: 'library/nginx', reference: '1.14.2' }))).kind, 'blocked');
});
