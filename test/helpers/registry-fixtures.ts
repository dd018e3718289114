// Pushes small but real images into a test registry through the distribution HTTP API
// (OCI distribution spec, "Push": POST /v2/<name>/blobs/uploads/ then PUT <location>?digest=,
// and PUT /v2/<name>/manifests/<reference>), so the client under test reads what a real
// `docker push` would have left: real config blobs, gzip tar layers with matching diff_ids,
// OCI or Docker schema 2 manifests, and multi-platform indexes.
//
// Independent of src/registry on purpose: a bug in the client must not be able to make its
// own fixtures look right. Auth is done directly: Basic for htpasswd registries, a
// pull,push,delete token straight from the test token server for token registries.
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Agent, request } from 'undici';
import type { TestRegistry } from './registry.js';

export interface FixtureCredential {
  username: string;
  password: string;
}

export type ManifestFormat = 'oci' | 'docker';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface ImageRuntimeConfig {
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  User?: string;
  WorkingDir?: string;
  [key: string]: unknown;
}

export interface PushImageOptions {
  repo: string;
  /** Tag to push; omit to push by digest only. */
  tag?: string;
  /** The image's runtime `config` section, merged over defaults (PATH env, /hello entrypoint). */
  config?: ImageRuntimeConfig;
  /** Layers as tar archives (gzip'd or not; plain tars are compressed here). Default: one small layer. */
  layers?: Buffer[];
  platform?: Platform;
  format?: ManifestFormat;
  /** Default: the registry's first user, for htpasswd/token registries. */
  credential?: FixtureCredential;
}

export interface PushedImage {
  digest: string;
  size: number;
  mediaType: string;
  configDigest: string;
  platform: Platform;
}

export interface PushIndexOptions {
  repo: string;
  tag?: string;
  /** Default: linux/amd64 and linux/arm64. */
  platforms?: Platform[];
  config?: ImageRuntimeConfig;
  /** Layers of every platform's image (default: one small layer each). */
  layers?: Buffer[];
  format?: ManifestFormat;
  credential?: FixtureCredential;
}

export interface PushedIndex {
  digest: string;
  size: number;
  mediaType: string;
  manifests: PushedImage[];
}

const MT = {
  oci: {
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    index: 'application/vnd.oci.image.index.v1+json',
    config: 'application/vnd.oci.image.config.v1+json',
    layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  },
  docker: {
    manifest: 'application/vnd.docker.distribution.manifest.v2+json',
    index: 'application/vnd.docker.distribution.manifest.list.v2+json',
    config: 'application/vnd.docker.container.image.v1+json',
    layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  },
} as const;

export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Stands for a program in a layer: only its presence and mode (0755) matter to the checks. */
export const FAKE_BINARY = '\x7fELF fake program\n';

function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A ustar archive of regular files (POSIX.1-1988), enough for a layer. */
export function tarArchive(files: Record<string, string | Buffer>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content);
    const h = Buffer.alloc(512);
    h.write(name.replace(/^\/+/, ''), 0, 100, 'utf8');
    h.write('0000755\0', 100, 'ascii'); // mode
    h.write('0000000\0', 108, 'ascii'); // uid
    h.write('0000000\0', 116, 'ascii'); // gid
    h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'ascii'); // size
    h.write('00000000000\0', 136, 'ascii'); // mtime: fixed, for reproducible digests
    h.write('        ', 148, 'ascii'); // checksum placeholder (spaces while summing)
    h.write('0', 156, 'ascii'); // typeflag: regular file
    h.write('ustar\0', 257, 'ascii');
    h.write('00', 263, 'ascii');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024)); // end-of-archive marker
  return Buffer.concat(blocks);
}

/** Registry HTTP session for fixtures: one undici Agent trusting the test CA, plus auth. */
class Session {
  readonly agent: Agent;
  #tokens = new Map<string, string>();

  constructor(
    readonly reg: TestRegistry,
    readonly credential: FixtureCredential | undefined,
  ) {
    this.agent = new Agent({ connect: { ca: reg.caPem }, connections: 4 });
  }

  static for(reg: TestRegistry, credential?: FixtureCredential): Session {
    const first = Object.entries(reg.users)[0];
    return new Session(reg, credential ?? (reg.auth !== 'none' && first ? { username: first[0], password: first[1] } : undefined));
  }

  async authorization(repo: string): Promise<string | undefined> {
    const cred = this.credential;
    if (this.reg.auth === 'none') return undefined;
    if (!cred) throw new Error(`registry ${this.reg.host} needs a credential to push`);
    const basic = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
    if (this.reg.auth === 'htpasswd') return basic;
    const ts = this.reg.tokenServer;
    if (!ts) throw new Error('token registry without token server');
    const cached = this.#tokens.get(repo);
    if (cached) return cached;
    const u = new URL(ts.realm);
    u.searchParams.set('service', ts.service);
    u.searchParams.set('scope', `repository:${repo}:pull,push,delete`);
    const res = await request(u, { dispatcher: this.agent, headers: { authorization: basic } });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`token server answered ${res.statusCode}: ${text}`);
    const body = JSON.parse(text) as { token?: string; access_token?: string };
    const header = `Bearer ${body.token ?? body.access_token ?? ''}`;
    this.#tokens.set(repo, header);
    return header;
  }

  async call(repo: string, method: string, pathOrUrl: string, opts: { body?: Buffer; headers?: Record<string, string> } = {}) {
    const url = new URL(pathOrUrl, this.reg.url);
    const authz = await this.authorization(repo);
    const res = await request(url, {
      dispatcher: this.agent,
      method: method as 'GET',
      headers: { ...opts.headers, ...(authz ? { authorization: authz } : {}) },
      ...(opts.body ? { body: opts.body } : {}),
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text };
  }

  async uploadBlob(repo: string, data: Buffer): Promise<string> {
    const digest = sha256(data);
    const head = await this.call(repo, 'HEAD', `/v2/${repo}/blobs/${digest}`);
    if (head.status === 200) return digest;
    const start = await this.call(repo, 'POST', `/v2/${repo}/blobs/uploads/`);
    if (start.status !== 202) throw new Error(`blob upload start for ${repo}: ${start.status} ${start.text}`);
    const location = new URL(String(start.headers['location']), this.reg.url);
    location.searchParams.set('digest', digest);
    const put = await this.call(repo, 'PUT', location.href, {
      body: data,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.length) },
    });
    if (put.status !== 201) throw new Error(`blob upload for ${repo}: ${put.status} ${put.text}`);
    return digest;
  }

  async putManifest(repo: string, reference: string, mediaType: string, body: Buffer): Promise<string> {
    const res = await this.call(repo, 'PUT', `/v2/${repo}/manifests/${reference}`, { body, headers: { 'content-type': mediaType } });
    if (res.status !== 201) throw new Error(`manifest PUT ${repo}:${reference}: ${res.status} ${res.text}`);
    const digest = sha256(body);
    const returned = res.headers['docker-content-digest'];
    if (returned !== undefined && returned !== digest) throw new Error(`registry computed ${String(returned)}, expected ${digest}`);
    return digest;
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

async function pushImageWith(s: Session, opts: PushImageOptions): Promise<PushedImage> {
  const format = opts.format ?? 'oci';
  const mt = MT[format];
  const platform = opts.platform ?? { architecture: 'amd64', os: 'linux' };
  // The default layer is a runnable image: /hello and the /bin/sh it needs (issue 5's checks read layers).
  const tars = opts.layers ?? [tarArchive({ hello: `#!/bin/sh\necho ${opts.repo}:${opts.tag ?? 'untagged'} ${platform.os}/${platform.architecture}\n`, 'bin/sh': FAKE_BINARY })];
  const layers: Array<{ mediaType: string; digest: string; size: number }> = [];
  const diffIds: string[] = [];
  for (const tar of tars) {
    const gz = tar[0] === 0x1f && tar[1] === 0x8b;
    const compressed = gz ? tar : gzipSync(tar);
    diffIds.push(sha256(gz ? gunzipSync(tar) : tar));
    layers.push({ mediaType: mt.layer, digest: await s.uploadBlob(opts.repo, compressed), size: compressed.length });
  }
  const imageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Env: [DEFAULT_PATH], Entrypoint: ['/hello'], Cmd: null, User: '', ...opts.config },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: diffIds.map(() => ({ created_by: 'backoff-guard test fixture' })),
  };
  const configBlob = Buffer.from(JSON.stringify(imageConfig));
  const configDigest = await s.uploadBlob(opts.repo, configBlob);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: mt.manifest,
      config: { mediaType: mt.config, digest: configDigest, size: configBlob.length },
      layers,
    }),
  );
  const digest = sha256(manifest);
  await s.putManifest(opts.repo, opts.tag ?? digest, mt.manifest, manifest);
  return { digest, size: manifest.length, mediaType: mt.manifest, configDigest, platform };
}

/** Pushes one single-platform image (OCI by default) and returns its manifest digest. */
export async function pushImage(reg: TestRegistry, opts: PushImageOptions): Promise<PushedImage> {
  const s = Session.for(reg, opts.credential);
  try {
    return await pushImageWith(s, opts);
  } finally {
    await s.close();
  }
}

/** Pushes one image per platform (by digest) and an index / manifest list over them. */
export async function pushIndex(reg: TestRegistry, opts: PushIndexOptions): Promise<PushedIndex> {
  const s = Session.for(reg, opts.credential);
  try {
    const format = opts.format ?? 'oci';
    const mt = MT[format];
    const platforms = opts.platforms ?? [
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux', variant: 'v8' },
    ];
    const manifests: PushedImage[] = [];
    for (const platform of platforms) {
      manifests.push(await pushImageWith(s, { repo: opts.repo, platform, format, ...(opts.config ? { config: opts.config } : {}), ...(opts.layers ? { layers: opts.layers } : {}) }));
    }
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: mt.index,
        manifests: manifests.map((m) => ({ mediaType: m.mediaType, digest: m.digest, size: m.size, platform: m.platform })),
      }),
    );
    const digest = sha256(index);
    await s.putManifest(opts.repo, opts.tag ?? digest, mt.index, index);
    return { digest, size: index.length, mediaType: mt.index, manifests };
  } finally {
    await s.close();
  }
}

/** Points another tag at an existing manifest (re-PUT of the same bytes, as `docker tag && push` does). */
export async function tagManifest(reg: TestRegistry, opts: { repo: string; digest: string; tag: string; credential?: FixtureCredential }): Promise<void> {
  const s = Session.for(reg, opts.credential);
  try {
    const accept = [...Object.values(MT.oci), ...Object.values(MT.docker)].join(', ');
    const got = await s.call(opts.repo, 'GET', `/v2/${opts.repo}/manifests/${opts.digest}`, { headers: { accept } });
    if (got.status !== 200) throw new Error(`manifest GET ${opts.repo}@${opts.digest}: ${got.status} ${got.text}`);
    await s.putManifest(opts.repo, opts.tag, String(got.headers['content-type']), Buffer.from(got.text));
  } finally {
    await s.close();
  }
}

/** Deletes a manifest by digest (the registry needs storage.delete.enabled, which startRegistry sets). */
export async function deleteManifest(reg: TestRegistry, opts: { repo: string; digest: string; credential?: FixtureCredential }): Promise<void> {
  const s = Session.for(reg, opts.credential);
  try {
    const res = await s.call(opts.repo, 'DELETE', `/v2/${opts.repo}/manifests/${opts.digest}`);
    if (res.status !== 202) throw new Error(`manifest DELETE ${opts.repo}@${opts.digest}: ${res.status} ${res.text}`);
  } finally {
    await s.close();
  }
}

/** 'repo:tag' -> manifest digest for everything seedStandardFixtures pushed. */
export type StandardFixtures = Record<string, string>;

/**
 * The standard fixture set:
 *   library/nginx:1.14.2 and :1.14  - one OCI index (linux/amd64 + linux/arm64)
 *   library/nginx:latest            - another OCI index
 *   library/busybox:1.36            - a single-platform Docker schema 2 image, Cmd ["sh"]
 *   team/app:1.0                    - a single-platform OCI image running as user 1000
 *   private/app:1.0                 - only on htpasswd/token registries (the token server
 *                                     lets anonymous clients pull library/* and team/* only)
 */
export async function seedStandardFixtures(reg: TestRegistry): Promise<StandardFixtures> {
  const out: StandardFixtures = {};
  // Layers with the files their configs run, so the image-aware checks (issue 5) find them.
  const nginxLayer = tarArchive({ 'docker-entrypoint.sh': '#!/bin/sh\nexec "$@"\n', 'bin/sh': FAKE_BINARY, 'usr/sbin/nginx': FAKE_BINARY });
  const appLayer = tarArchive({ app: FAKE_BINARY, 'bin/sh': FAKE_BINARY });
  const nginx = await pushIndex(reg, { repo: 'library/nginx', tag: '1.14.2', layers: [nginxLayer], config: { Entrypoint: ['/docker-entrypoint.sh'], Cmd: ['nginx', '-g', 'daemon off;'] } });
  out['library/nginx:1.14.2'] = nginx.digest;
  await tagManifest(reg, { repo: 'library/nginx', digest: nginx.digest, tag: '1.14' });
  out['library/nginx:1.14'] = nginx.digest;
  const latest = await pushIndex(reg, { repo: 'library/nginx', tag: 'latest', layers: [nginxLayer], config: { Entrypoint: ['/docker-entrypoint.sh'], Cmd: ['nginx', '-g', 'daemon off;'], Env: [DEFAULT_PATH, 'NGINX_VERSION=1.27.0'] } });
  out['library/nginx:latest'] = latest.digest;
  out['library/busybox:1.36'] = (await pushImage(reg, { repo: 'library/busybox', tag: '1.36', format: 'docker', layers: [tarArchive({ 'bin/sh': FAKE_BINARY, 'bin/busybox': FAKE_BINARY })], config: { Entrypoint: null, Cmd: ['sh'] } })).digest;
  out['team/app:1.0'] = (await pushImage(reg, { repo: 'team/app', tag: '1.0', layers: [appLayer], config: { Entrypoint: ['/app'], User: '1000' } })).digest;
  if (reg.auth !== 'none') {
    out['private/app:1.0'] = (await pushImage(reg, { repo: 'private/app', tag: '1.0', layers: [appLayer], config: { Entrypoint: ['/app'], User: '1000' } })).digest;
  }
  return out;
}
