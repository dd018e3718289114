// Link pagination of tags/list (distribution spec, "Listing Tags": `n`, `last`, and
// `Link: <...>; rel="next"`). Distribution 2.8 ignores `n` on tags/list and never sends a
// Link (see client.test.ts), so this uses a small HTTPS server that implements just the
// pagination part of the spec: /v2/ and /v2/<name>/tags/list.
import t from 'tap';
import { createServer } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient, RegistryError } from '../../src/registry/index.js';
import { generateCertificates } from '../../src/tls/dev-certs.js';

t.setTimeout(30_000);

const TAGS = Array.from({ length: 11 }, (_, i) => `v${String(i).padStart(2, '0')}`);

t.test('tags/list pagination', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-pages-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const certs = await generateCertificates({ dir, hosts: ['127.0.0.1'] });
  const seen: string[] = [];
  const server = createServer({ cert: certs.certPem, key: certs.keyPem }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://x');
    seen.push(url.pathname + url.search);
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/v2/') return json(200, {});
    const m = /^\/v2\/(.+)\/tags\/list$/.exec(url.pathname);
    if (!m) return json(404, { errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }] });
    const name = m[1]!;
    const n = Number(url.searchParams.get('n') ?? '1000');
    const last = url.searchParams.get('last');
    const start = last ? TAGS.findIndex((x) => x > last) : 0;
    const page = start < 0 ? [] : TAGS.slice(start, start + n);
    const headers: Record<string, string> = {};
    const more = start >= 0 && start + n < TAGS.length;
    if (name === 'team/many' && more) headers['link'] = `</v2/${name}/tags/list?n=${n}&last=${page[page.length - 1]}>; rel="next"`;
    if (name === 'evil/app') headers['link'] = `<https://localhost:1/v2/${name}/tags/list?n=${n}&last=x>; rel="next"`;
    if (name === 'loop/app') headers['link'] = `</v2/${name}/tags/list?n=${n}>; rel="next"`;
    return json(200, { name, tags: page }, headers);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  const domain = `127.0.0.1:${addr.port}`;
  const client = new RegistryClient({ hosts: { [domain]: { ca: certs.caPem, allowPrivateNetwork: true } } });
  t.teardown(() => client.close());

  t.same(await client.listTags({ domain, path: 'team/many' }, { pageSize: 3 }), TAGS, 'all pages followed');
  t.same(
    seen.filter((s) => s.includes('team/many')),
    ['/v2/team/many/tags/list?n=3', '/v2/team/many/tags/list?n=3&last=v02', '/v2/team/many/tags/list?n=3&last=v05', '/v2/team/many/tags/list?n=3&last=v08'],
  );
  t.same(await client.listTags({ domain, path: 'team/many' }, { pageSize: 3, max: 5 }), TAGS.slice(0, 5), 'stops at max');
  t.same(await client.listTags({ domain, path: 'team/many' }, { max: 4 }), TAGS.slice(0, 4), 'n defaults to max');

  let err: unknown;
  try {
    await client.listTags({ domain, path: 'evil/app' }, { pageSize: 2 });
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof RegistryError);
  t.equal((err as RegistryError).kind, 'protocol', 'a Link to another origin is refused');

  const before = seen.length;
  t.same(await client.listTags({ domain, path: 'loop/app' }, { pageSize: 2 }), TAGS.slice(0, 2), 'a self-link does not loop');
  t.equal(seen.length - before, 1);
});
