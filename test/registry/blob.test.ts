// getBlob against real Distribution 2.8 registries (no auth, htpasswd, token), with a real
// nginx in front for the redirect to blob storage on another origin, a body without
// Content-Length, and a registry that never answers the blob request.
import t from 'tap';
import { rejection } from '../helpers/registry-errors.js';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { RegistryClient, RegistryError, type Credential } from '../../src/registry/index.js';
import { startHangingServer, startStatusServer } from '../helpers/hanging-server.js';
import { proxyTo, startNginx } from '../helpers/nginx.js';
import { freePort } from '../helpers/ports.js';
import { pushImage, tarArchive } from '../helpers/registry-fixtures.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

t.setTimeout(120_000);

async function readAll(stream: Readable, pauseMs = 0): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) {
    chunks.push(c as Buffer);
    if (pauseMs > 0 && chunks.length === 1) await new Promise((r) => setTimeout(r, pauseMs));
  }
  return Buffer.concat(chunks);
}

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** A gzip'd layer of ~600 KiB of incompressible bytes (many socket reads). */
function bigLayer(): Buffer {
  return gzipSync(tarArchive({ 'data.bin': randomBytes(600 * 1024) }));
}

async function pushLayer(reg: TestRegistry, repo: string, layer: Buffer): Promise<string> {
  await pushImage(reg, { repo, tag: '1.0', layers: [layer] });
  return sha256(layer);
}

t.test('no-auth registry: bytes, caps, deadline', async (t) => {
  const reg = await startRegistry({ auth: 'none' });
  t.teardown(() => reg.stop());
  const layer = bigLayer();
  const digest = await pushLayer(reg, 'team/big', layer);
  const client = new RegistryClient({ hosts: { [reg.host]: { ca: reg.caPem, allowPrivateNetwork: true } }, timeoutMs: 5000 });
  t.teardown(() => client.close());

  t.test('reads the pushed layer back byte for byte', async (t) => {
    const got = await readAll(await client.getBlob({ domain: reg.host, path: 'team/big', digest }));
    t.equal(got.length, layer.length);
    t.ok(got.equals(layer), 'same bytes');
  });

  t.test('maxBytes smaller than the layer -> too-large (Content-Length, before any body)', async (t) => {
    const err = await rejection(client.getBlob({ domain: reg.host, path: 'team/big', digest }, { maxBytes: 1024 }));
    t.equal(err.kind, 'too-large');
    t.match(err.message, new RegExp(`response of ${layer.length} bytes exceeds the 1024 byte limit`));
  });

  t.test('maxBytes equal to the layer is enough', async (t) => {
    const got = await readAll(await client.getBlob({ domain: reg.host, path: 'team/big', digest }, { maxBytes: layer.length }));
    t.equal(got.length, layer.length);
  });

  t.test('unknown blob -> not-found BLOB_UNKNOWN', async (t) => {
    const err = await rejection(client.getBlob({ domain: reg.host, path: 'team/big', digest: `sha256:${'0'.repeat(64)}` }));
    t.equal(err.kind, 'not-found');
    t.same(err.codes, ['BLOB_UNKNOWN']);
  });

  t.test('an invalid digest never reaches the wire', async (t) => {
    const err = await rejection(client.getBlob({ domain: reg.host, path: 'team/big', digest: '../../etc/passwd' }));
    t.equal(err.kind, 'protocol');
    t.match(err.message, /invalid blob digest/);
  });

  t.test('the deadline covers the headers only: a slow reader outlives it', async (t) => {
    const fast = new RegistryClient({ hosts: { [reg.host]: { ca: reg.caPem, allowPrivateNetwork: true, timeoutMs: 400 } } });
    t.teardown(() => fast.close());
    const got = await readAll(await fast.getBlob({ domain: reg.host, path: 'team/big', digest }), 900);
    t.ok(got.equals(layer), 'read completely, 900 ms after a 400 ms deadline');
  });

  t.test("the caller's signal aborts the transfer with a RegistryError", async (t) => {
    const ac = new AbortController();
    const stream = await client.getBlob({ domain: reg.host, path: 'team/big', digest }, { signal: ac.signal });
    const err = await rejection(
      (async () => {
        for await (const _ of stream) ac.abort();
      })(),
    );
    t.equal(err.kind, 'timeout');
    t.match(err.message, /aborted by caller/);
  });
});

t.test('htpasswd and token registries: authenticated like manifests', async (t) => {
  const users = { alice: 'alice-blob-secret-1' };
  const alice: Credential = { username: 'alice', password: users.alice };
  for (const auth of ['htpasswd', 'token'] as const) {
    t.test(auth, async (t) => {
      const reg = await startRegistry({ auth, users });
      t.teardown(() => reg.stop());
      const layer = gzipSync(tarArchive({ f: `private layer of ${auth}` }));
      const digest = await pushLayer(reg, 'private/app', layer);
      const client = new RegistryClient({ hosts: { [reg.host]: { ca: reg.caPem, allowPrivateNetwork: true } }, timeoutMs: 5000 });
      t.teardown(() => client.close());
      const got = await readAll(await client.getBlob({ domain: reg.host, path: 'private/app', digest }, { credential: alice }));
      t.ok(got.equals(layer));
      const anon = await rejection(client.getBlob({ domain: reg.host, path: 'private/app', digest }));
      t.equal(anon.kind, 'unauthorized');
      t.equal(anon.anonymous, true);
      const wrong = await rejection(client.getBlob({ domain: reg.host, path: 'private/app', digest }, { credential: { username: 'alice', password: 'not-the-password-9' } }));
      t.equal(wrong.kind, 'unauthorized');
      t.notMatch(wrong.message, /not-the-password-9|authorization/i);
    });
  }
});

t.test('behind nginx: redirect to storage on another host, chunked body, hanging blob request', async (t) => {
  const reg = await startRegistry({ auth: 'htpasswd', users: { alice: 'alice-blob-secret-2' } });
  t.teardown(() => reg.stop());
  const credential: Credential = { username: 'alice', password: 'alice-blob-secret-2' };
  // "Storage": an anonymous registry on another origin holding the same layer.
  const storage = await startRegistry({ auth: 'none' });
  t.teardown(() => storage.stop());
  const layer = bigLayer();
  const digest = await pushLayer(reg, 'private/app', layer);
  await pushLayer(storage, 'library/store', layer);
  const certs = { caFile: reg.caFile, certFile: reg.certFile, keyFile: reg.keyFile, caPem: reg.caPem, certPem: readFileSync(reg.certFile, 'utf8'), keyPem: readFileSync(reg.keyFile, 'utf8') };
  const recorder = await startStatusServer({ status: 200, headers: { 'content-type': 'application/octet-stream' }, body: 'stored-bytes', certs });
  t.teardown(() => recorder.stop());
  const hanging = await startHangingServer({ certs });
  t.teardown(() => hanging.stop());
  const port = await freePort();
  const nginx = await startNginx(
    `
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${reg.certFile};
    ssl_certificate_key ${reg.keyFile};
    location ~ ^/v2/redirected/app/blobs/(.+)$ { return 307 https://127.0.0.1:${storage.port}/v2/library/store/blobs/$1; }
    location ~ ^/v2/recorded/app/blobs/ { return 307 https://127.0.0.1:${recorder.port}/storage/blob?X-Amz-Signature=abc; }
    location ~ ^/v2/hanging/app/blobs/ {
      proxy_pass https://127.0.0.1:${hanging.port};
      proxy_ssl_verify off;
      proxy_read_timeout 60s;
    }
    location ~ ^/v2/chunked/app/blobs/(.+)$ {
      proxy_pass https://127.0.0.1:${reg.port}/v2/private/app/blobs/$1;
      proxy_set_header Host $http_host;
      proxy_ssl_verify off;
      # A body filter that matches nothing still makes nginx drop Content-Length and chunk.
      sub_filter_types *;
      sub_filter 'no-such-string-in-the-layer-0f9e' '';
    }
    location / {
      ${proxyTo(reg.port)}
    }
  }`,
    port,
  );
  t.teardown(() => nginx.stop());
  const domain = `127.0.0.1:${port}`;
  const client = new RegistryClient({ hosts: { [domain]: { ca: [reg.caPem, storage.caPem], allowPrivateNetwork: true, timeoutMs: 1500 } } });
  t.teardown(() => client.close());

  t.test('follows the redirect to another origin and reads the bytes from there', async (t) => {
    const got = await readAll(await client.getBlob({ domain, path: 'redirected/app', digest }, { credential }));
    t.ok(got.equals(layer), 'same bytes, served by the storage host');
  });

  t.test('no Authorization is sent to the storage host', async (t) => {
    const got = await readAll(await client.getBlob({ domain, path: 'recorded/app', digest }, { credential }));
    t.equal(got.toString(), 'stored-bytes');
    t.equal(recorder.requests.length, 1);
    t.equal(recorder.requests[0]?.url, '/storage/blob?X-Amz-Signature=abc');
    t.equal(recorder.requests[0]?.headers.authorization, undefined);
  });

  t.test('without Content-Length the cap is enforced by counting', async (t) => {
    const ok = await readAll(await client.getBlob({ domain, path: 'chunked/app', digest }, { credential }));
    t.ok(ok.equals(layer), 'chunked body read completely');
    const stream = await client.getBlob({ domain, path: 'chunked/app', digest }, { credential, maxBytes: 64 * 1024 });
    const err = await rejection(readAll(stream));
    t.equal(err.kind, 'too-large');
    t.match(err.message, /response exceeds the 65536 byte limit/);
  });

  t.test('a blob request that never answers -> timeout after the host timeout', async (t) => {
    const started = Date.now();
    const err = await rejection(client.getBlob({ domain, path: 'hanging/app', digest }, { credential }));
    t.equal(err.kind, 'timeout');
    t.match(err.message, /timed out after 1500 ms/);
    t.ok(Date.now() - started < 1500 + 1000);
    t.equal(hanging.requests.length, 1, 'the request reached the hanging upstream');
  });
});
