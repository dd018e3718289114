// A real CNCF Distribution registry (Debian's `docker-registry`) on 127.0.0.1 with TLS and
// Bearer token auth, for the benchmark. Plain JavaScript on purpose: the bench imports only
// dist/ and npm modules (test/helpers/ are TypeScript and not built). It mirrors
// test/helpers/registry.ts and test/helpers/token-server.ts, with one addition the bench needs:
// the registry's access log (Apache combined format, on its stdout) is kept, so registry
// requests are counted where they arrive, not where the client thinks it sent them.
//
// Token server: docker token auth spec (distribution spec/auth/token). Tokens are RS256 JWTs
// whose JOSE header carries `x5c` with a self-signed certificate that is also the registry's
// auth.token.rootcertbundle (what Distribution 2.8 verifies). Every repository is anonymously
// pullable (a public registry, like Docker Hub's public images); pushes use tokens minted
// in-process (`mint`), so the access log and the token log hold only what the webhook asked.
import { execFile, spawn } from 'node:child_process';
import { X509Certificate, createHash, createPrivateKey, randomBytes, randomUUID, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { generateCertificates } from '../../dist/tls/dev-certs.js';

const run = promisify(execFile);

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const b64url = (data) => Buffer.from(data).toString('base64url');

async function startTokenServer({ dir, certPem, keyPem, service, issuer }) {
  mkdirSync(dir, { recursive: true });
  const keyFile = join(dir, 'token-signing.key');
  const certFile = join(dir, 'token-signing.crt');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=backoff-guard bench token signer'], { timeout: 30_000 });
  const signingKey = createPrivateKey(readFileSync(keyFile));
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [new X509Certificate(readFileSync(certFile)).raw.toString('base64')] }));

  /** scopes: ['repository:<name>:pull,push'] -> a signed token granting exactly them. */
  const mint = (scopes, user = '') => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.flatMap((s) => {
      const first = s.indexOf(':');
      const last = s.lastIndexOf(':');
      if (first <= 0 || last <= first) return [];
      const actions = s.slice(last + 1).split(',').filter(Boolean);
      // Anonymous callers get pull only; minted push tokens come from the bench itself.
      const granted = user === '' ? actions.filter((a) => a === 'pull') : actions;
      return granted.length ? [{ type: s.slice(0, first), name: s.slice(first + 1, last), actions: granted }] : [];
    });
    const claims = { iss: issuer, sub: user, aud: service, exp: now + 600, nbf: now - 1, iat: now, jti: randomUUID(), access };
    const input = `${header}.${b64url(JSON.stringify(claims))}`;
    return `${input}.${b64url(sign('sha256', Buffer.from(input), signingKey))}`;
  };

  const requests = [];
  const sockets = new Set();
  const server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://token.invalid');
    const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
    requests.push({ method: req.method, scopes, userAgent: String(req.headers['user-agent'] ?? '') });
    let status = 200;
    let body;
    if (req.method !== 'GET' || url.pathname !== '/token') {
      status = 404;
      body = { details: 'not found' };
    } else if (url.searchParams.get('service') !== service) {
      status = 400;
      body = { details: 'unknown service' };
    } else {
      const token = mint(scopes);
      body = { token, access_token: token, expires_in: 600, issued_at: new Date().toISOString() };
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    realm: `https://127.0.0.1:${port}/token`,
    rootCertBundle: certFile,
    requests,
    mint,
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// 127.0.0.1 - - [27/Nov/2026:12:39:57 +0000] "HEAD /v2/a/manifests/b HTTP/1.1" 404 91 "" "curl/7.88.1"
const ACCESS_LINE = /^\S+ \S+ \S+ \[[^\]]*\] "(\S+) (\S+) [^"]*" (\d{3}) \S+ "[^"]*" "([^"]*)"/;

/** Starts the registry (token auth) and its token server; stop() kills it by PID and removes its folder. */
export async function startBenchRegistry() {
  const dir = mkdtempSync(join(tmpdir(), 'bg-bench-registry-'));
  const certs = await generateCertificates({ dir: join(dir, 'tls'), hosts: ['127.0.0.1', 'localhost'] });
  const service = 'backoff-guard-bench-registry';
  const issuer = 'backoff-guard-bench-token-server';
  const token = await startTokenServer({ dir: join(dir, 'token'), certPem: certs.certPem, keyPem: certs.keyPem, service, issuer });
  const port = await freePort();
  const config = {
    version: 0.1,
    log: { level: 'error', accesslog: { disabled: false }, formatter: 'text' },
    storage: { filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true }, maintenance: { uploadpurging: { enabled: false } } },
    http: { addr: `127.0.0.1:${port}`, secret: randomBytes(16).toString('hex'), tls: { certificate: certs.certFile, key: certs.keyFile } },
    auth: { token: { realm: token.realm, service, issuer, rootcertbundle: token.rootCertBundle } },
  };
  const configFile = join(dir, 'config.yml');
  writeFileSync(configFile, stringify(config));
  const child = spawn('docker-registry', ['serve', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  let spawnError;
  child.once('error', (err) => (spawnError = err));
  const access = [];
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = ACCESS_LINE.exec(line);
      if (m) access.push({ method: m[1], path: m[2], status: Number(m[3]), userAgent: m[4] });
    }
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4096)));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    await token.stop();
    rmSync(dir, { recursive: true, force: true });
  };

  const url = `https://127.0.0.1:${port}`;
  const agent = new Agent({ connect: { ca: certs.caPem }, connections: 16 });
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (spawnError) {
      await stop();
      throw new Error(`could not start docker-registry (apt-get install -y docker-registry): ${spawnError.message}`);
    }
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`docker-registry exited: ${stderr.trim()}`);
    }
    try {
      const res = await request(`${url}/v2/`, { dispatcher: agent, headersTimeout: 1000 });
      await res.body.dump();
      if (res.statusCode === 401) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not answer in time: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  // The probe above is the bench's, not the webhook's: start the logs clean.
  access.length = 0;
  token.requests.length = 0;

  return {
    host: `127.0.0.1:${port}`,
    url,
    /** The registry's storage root (filesystem driver). */
    dataDir: join(dir, 'data'),
    caPem: certs.caPem,
    caFile: certs.caFile,
    pid: child.pid,
    tokenRealm: token.realm,
    tokenService: service,
    /** Registry access log entries: { method, path, status, userAgent }. */
    access,
    /** Token requests: { method, scopes, userAgent }. */
    tokenRequests: token.requests,
    mint: token.mint,
    agent,
    async stop() {
      await agent.close();
      await stop();
    },
  };
}

// ---- pushing images through the distribution API (OCI distribution spec, "Push") ----

const MT = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
};
const sha256 = (data) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** Registry calls with a minted push token per repository. */
export function pusher(reg) {
  const tokens = new Map();
  const auth = (repo) => {
    let t = tokens.get(repo);
    if (!t) tokens.set(repo, (t = `Bearer ${reg.mint([`repository:${repo}:pull,push`], 'bench')}`));
    return t;
  };
  const call = async (repo, method, path, { body, headers = {} } = {}) => {
    const res = await request(new URL(path, reg.url), { dispatcher: reg.agent, method, headers: { ...headers, authorization: auth(repo), 'user-agent': 'bench-pusher' }, ...(body ? { body } : {}) });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text };
  };
  const uploadBlob = async (repo, data) => {
    const digest = sha256(data);
    const head = await call(repo, 'HEAD', `/v2/${repo}/blobs/${digest}`);
    if (head.status === 200) return digest;
    const started = await call(repo, 'POST', `/v2/${repo}/blobs/uploads/`);
    if (started.status !== 202) throw new Error(`blob upload start ${repo}: ${started.status} ${started.text}`);
    const loc = new URL(String(started.headers.location), reg.url);
    loc.searchParams.set('digest', digest);
    const put = await call(repo, 'PUT', loc.href, { body: data, headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.length) } });
    if (put.status !== 201) throw new Error(`blob upload ${repo}: ${put.status} ${put.text}`);
    return digest;
  };
  const putManifest = async (repo, reference, body) => {
    const res = await call(repo, 'PUT', `/v2/${repo}/manifests/${reference}`, { body, headers: { 'content-type': MT.manifest } });
    if (res.status !== 201) throw new Error(`manifest PUT ${repo}:${reference}: ${res.status} ${res.text}`);
    return String(res.headers['docker-content-digest']);
  };
  /**
   * Pushes an image: layers are gzip'd tar buffers (default: one tiny layer; `diffIds`, the
   * sha256 of each uncompressed tar, are computed when not given). Returns the
   * manifest bytes, so more tags can be PUT cheaply with `tag`.
   */
  const pushImage = async (repo, tag, { layers, diffIds, config = {} } = {}) => {
    const layerBlobs = layers ?? [tinyLayer];
    const diffs = diffIds ?? layerBlobs.map((gz) => sha256(gunzipSync(gz)));
    const layerDescs = [];
    for (const gz of layerBlobs) layerDescs.push({ mediaType: MT.layer, digest: await uploadBlob(repo, gz), size: gz.length });
    const cfg = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        // The labels make every pushed image distinct content (its own config and manifest
        // digests), as distinct images are; the layer is shared, as base layers are.
        config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Entrypoint: ['/app'], Labels: { 'bench.image': `${repo}:${tag}` }, ...config },
        rootfs: { type: 'layers', diff_ids: diffs },
      }),
    );
    const configDigest = await uploadBlob(repo, cfg);
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.manifest, config: { mediaType: MT.config, digest: configDigest, size: cfg.length }, layers: layerDescs }));
    const digest = await putManifest(repo, tag, manifest);
    return { digest, manifest };
  };
  return { pushImage, putManifest, uploadBlob };
}

/** A ustar archive of regular files (POSIX.1-1988), enough for a layer. */
export function tarArchive(files) {
  const blocks = [];
  for (const [name, content] of files) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const h = Buffer.alloc(512);
    h.write(name.replace(/^\/+/, ''), 0, 100, 'utf8');
    h.write('0000755\0', 100, 'ascii');
    h.write('0000000\0', 108, 'ascii');
    h.write('0000000\0', 116, 'ascii');
    h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
    h.write('00000000000\0', 136, 'ascii');
    h.write('        ', 148, 'ascii');
    h.write('0', 156, 'ascii');
    h.write('ustar\0', 257, 'ascii');
    h.write('00', 263, 'ascii');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

// An ELF header and nothing else: a binary as far as the image checks can tell (no `#!` line).
const FAKE_ELF = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(56)]);

/** A small valid gzip'd tar layer (one executable, /app), for images whose content does not matter. */
export const tinyLayer = gzipSync(tarArchive([['app', FAKE_ELF]]));

/**
 * Points more tags at a manifest already pushed to `repo`, by writing the two link files a
 * manifest PUT by tag writes in Distribution's filesystem storage
 * (registry/storage/paths.go: manifestTagCurrentPathSpec, manifestTagIndexEntryLinkPathSpec).
 * Thousands of tags in a second, where the API takes minutes; the registry reads them as it
 * reads any tag (no storage cache is configured).
 */
export function tagInStorage(reg, repo, tag, digest) {
  const tagDir = join(reg.dataDir, 'docker/registry/v2/repositories', repo, '_manifests/tags', tag);
  const [alg, hex] = digest.split(':');
  mkdirSync(join(tagDir, 'current'), { recursive: true });
  mkdirSync(join(tagDir, 'index', alg, hex), { recursive: true });
  writeFileSync(join(tagDir, 'current/link'), digest);
  writeFileSync(join(tagDir, 'index', alg, hex, 'link'), digest);
}

/**
 * Stores an image straight into Distribution's filesystem storage, the files a push by tag
 * leaves (registry/storage/paths.go): the blobs under blobs/sha256/<2>/<hex>/data, the
 * repository's layer links (layers and config) under _layers, the manifest revision link and
 * the tag's current and index links. Used to seed hundreds of repositories in a second; the
 * registry then serves them through its API like any pushed image (run.js checks one through
 * the API). Returns the manifest digest.
 */
export function storeImage(reg, repo, tag, { layers = [tinyLayer], config = {} } = {}) {
  const v2 = join(reg.dataDir, 'docker/registry/v2');
  const putBlob = (data) => {
    const hex = createHash('sha256').update(data).digest('hex');
    const dir = join(v2, 'blobs/sha256', hex.slice(0, 2), hex);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'data'), data);
    return `sha256:${hex}`;
  };
  const link = (path, digest) => {
    mkdirSync(join(v2, 'repositories', repo, path), { recursive: true });
    writeFileSync(join(v2, 'repositories', repo, path, 'link'), digest);
  };
  const layerDescs = layers.map((gz) => ({ mediaType: MT.layer, digest: putBlob(gz), size: gz.length }));
  const cfg = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Entrypoint: ['/app'], Labels: { 'bench.image': `${repo}:${tag}` }, ...config },
      rootfs: { type: 'layers', diff_ids: layers.map((gz) => sha256(gunzipSync(gz))) },
    }),
  );
  const configDigest = putBlob(cfg);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.manifest, config: { mediaType: MT.config, digest: configDigest, size: cfg.length }, layers: layerDescs }));
  const digest = putBlob(manifest);
  for (const d of [...layerDescs.map((l) => l.digest), configDigest]) link(`_layers/sha256/${d.slice(7)}`, d);
  link(`_manifests/revisions/sha256/${digest.slice(7)}`, digest);
  tagInStorage(reg, repo, tag, digest);
  return digest;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool(items, limit, fn) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  });
  await Promise.all(workers);
}
