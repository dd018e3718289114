// Fixture images for the image-aware checks (issue 5), pushed to a real registry (auth 'none')
// through the distribution API: real file systems in gzip, zstd or plain tar layers, whiteouts,
// users, entrypoints, single-platform images and multi-platform indexes (not a test file).
// Independent of src/registry and src/inspect, so a bug there cannot shape its own fixtures.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Agent, request } from 'undici';
import { DEFAULT_PATH, type ImageRuntimeConfig, type Platform } from './registry-fixtures.js';
import type { TestRegistry } from './registry.js';
import { binary, buildTar, opaque, script, whiteout, type TarEntry } from './tar-builder.js';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export type Compression = 'gzip' | 'zstd' | 'none';

export interface FixtureLayer {
  entries: TarEntry[];
  compression?: Compression;
}

export interface FixtureImage {
  platform?: Platform;
  config?: ImageRuntimeConfig;
  layers: FixtureLayer[];
}

const LAYER_TYPE: Record<Compression, string> = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
};

function compress(tar: Buffer, c: Compression): Buffer {
  if (c === 'gzip') return gzipSync(tar);
  if (c === 'zstd') return execFileSync('zstd', ['-q', '-c'], { input: tar, maxBuffer: 1 << 30 });
  return tar;
}

class Pusher {
  readonly agent: Agent;
  constructor(readonly reg: TestRegistry) {
    if (reg.auth !== 'none') throw new Error('image fixtures need an auth: none registry');
    this.agent = new Agent({ connect: { ca: reg.caPem } });
  }

  async blob(repo: string, data: Buffer): Promise<string> {
    const digest = sha256(data);
    const start = await request(new URL(`/v2/${repo}/blobs/uploads/`, this.reg.url), { dispatcher: this.agent, method: 'POST' });
    await start.body.text();
    if (start.statusCode !== 202) throw new Error(`blob upload start: ${start.statusCode}`);
    const location = new URL(String(start.headers['location']), this.reg.url);
    location.searchParams.set('digest', digest);
    const put = await request(location, { dispatcher: this.agent, method: 'PUT', body: data, headers: { 'content-type': 'application/octet-stream', 'content-length': String(data.length) } });
    const text = await put.body.text();
    if (put.statusCode !== 201) throw new Error(`blob upload: ${put.statusCode} ${text}`);
    return digest;
  }

  async manifest(repo: string, reference: string, mediaType: string, body: Buffer): Promise<string> {
    const res = await request(new URL(`/v2/${repo}/manifests/${reference}`, this.reg.url), { dispatcher: this.agent, method: 'PUT', body, headers: { 'content-type': mediaType } });
    const text = await res.body.text();
    if (res.statusCode !== 201) throw new Error(`manifest PUT ${repo}:${reference}: ${res.statusCode} ${text}`);
    return sha256(body);
  }

  async image(repo: string, img: FixtureImage, tag?: string): Promise<{ digest: string; size: number; platform: Platform; layerBytes: number }> {
    const platform = img.platform ?? { os: 'linux', architecture: 'amd64' };
    const layers = [];
    const diffIds = [];
    let layerBytes = 0;
    for (const l of img.layers) {
      const tar = buildTar(l.entries);
      const c = l.compression ?? 'gzip';
      const blob = compress(tar, c);
      layerBytes += blob.length;
      layers.push({ mediaType: LAYER_TYPE[c], digest: await this.blob(repo, blob), size: blob.length });
      diffIds.push(sha256(tar));
    }
    const config = Buffer.from(
      JSON.stringify({
        architecture: platform.architecture,
        os: platform.os,
        ...(platform.variant ? { variant: platform.variant } : {}),
        config: { Env: [DEFAULT_PATH], Entrypoint: null, Cmd: null, User: '', ...img.config },
        rootfs: { type: 'layers', diff_ids: diffIds },
      }),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await this.blob(repo, config), size: config.length },
        layers,
      }),
    );
    const digest = await this.manifest(repo, tag ?? sha256(manifest), 'application/vnd.oci.image.manifest.v1+json', manifest);
    return { digest, size: manifest.length, platform, layerBytes };
  }

  async index(repo: string, tag: string, images: FixtureImage[]): Promise<string> {
    const manifests = [];
    for (const img of images) {
      const m = await this.image(repo, img);
      manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: m.digest, size: m.size, platform: m.platform });
    }
    // A buildkit-style attestation entry: never a platform a node pulls.
    manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifests[0]!.digest, size: manifests[0]!.size, platform: { os: 'unknown', architecture: 'unknown' } });
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
    return this.manifest(repo, tag, 'application/vnd.oci.image.index.v1+json', body);
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

// ---- file systems ----

/** Alpine-like: busybox with /bin/sh and applets as symlinks, no bash. */
export function alpineFs(): TarEntry[] {
  return [
    { path: 'bin', type: 'dir' },
    binary('bin/busybox'),
    ...['sh', 'ash', 'echo', 'sleep', 'cat', 'ls', 'true', 'false', 'date'].map((a): TarEntry => ({ path: `bin/${a}`, type: 'symlink', target: '/bin/busybox' })),
    { path: 'usr/bin/env', type: 'symlink', target: '/bin/busybox' },
    { path: 'usr/bin/wget', type: 'symlink', target: '/bin/busybox' },
    { path: 'etc/passwd', mode: 0o644, content: 'root:x:0:0:root:/root:/bin/sh\nnginx:x:101:101::/:/sbin/nologin\n' },
    script('usr/local/bin/bash-entrypoint.sh', '/bin/bash', 'exec "$@"\n'),
    script('usr/local/bin/sh-entrypoint.sh', '/bin/sh', 'exec "$@"\n'),
    { path: 'usr/local/bin/notexec.sh', mode: 0o644, content: '#!/bin/sh\necho\n' },
    { path: 'app', type: 'dir' },
  ];
}

/** Distroless-like: one static binary, no shell at all. */
export function distrolessFs(): TarEntry[] {
  return [binary('app/server'), { path: 'etc/passwd', mode: 0o644, content: 'root:x:0:0::/root:/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n' }];
}

/** Debian-like base with merged /usr (bin -> usr/bin), dash as sh, bash, curl. */
export function debianBase(): TarEntry[] {
  return [
    { path: 'bin', type: 'symlink', target: 'usr/bin' },
    { path: 'usr/bin', type: 'dir' },
    binary('usr/bin/bash'),
    binary('usr/bin/dash'),
    { path: 'usr/bin/sh', type: 'symlink', target: 'dash' },
    binary('usr/bin/curl'),
    binary('usr/bin/sleep'),
    binary('usr/bin/echo'),
    binary('usr/bin/env'),
    { path: 'etc/app', type: 'dir' },
    { path: 'etc/app/old.conf', mode: 0o644, content: 'x' },
  ];
}

/** A layer on top of debianBase that removes curl (whiteout) and replaces /etc/app (opaque). */
export function debianSlimmed(): TarEntry[] {
  return [whiteout('usr/bin/curl'), { path: 'etc/app', type: 'dir' }, opaque('etc/app'), { path: 'etc/app/new.conf', mode: 0o644, content: 'y' }, binary('usr/local/bin/app')];
}

export interface StandardImages {
  /** repo:tag -> reference usable in a pod (host/repo:tag) */
  ref: (name: string) => string;
  digests: Record<string, string>;
}

/**
 * Pushes the image set the issue-5 tests use:
 *   multi:1        index linux/amd64 + linux/arm64/v8 (+ an attestation entry), alpine fs, CMD ["sleep", "infinity"]
 *   arm64only:1    single-platform linux/arm64, alpine fs
 *   amd64only:1    index with linux/amd64 only
 *   nonroot:1      USER 1000          named:1  USER nginx         rootuser:1  USER 0:0
 *   noentry:1      no ENTRYPOINT, no CMD
 *   emptyentry:1   ENTRYPOINT [""], no CMD
 *   distroless:1   no /bin/sh, ENTRYPOINT ["/app/server"], USER 65532
 *   alpine:3       busybox sh, no bash, CMD ["/bin/sh"]
 *   layered:1      two layers, whiteout of /usr/bin/curl, opaque /etc/app, CMD ["bash"]
 *   zstd:1         the alpine fs in a zstd layer
 *   plain:1        the alpine fs in an uncompressed layer
 */
export async function pushStandardImages(reg: TestRegistry): Promise<StandardImages> {
  const p = new Pusher(reg);
  const digests: Record<string, string> = {};
  const longRunning = { Cmd: ['sleep', 'infinity'] };
  try {
    digests['multi:1'] = await p.index('fixtures/multi', '1', [
      { platform: { os: 'linux', architecture: 'amd64' }, config: longRunning, layers: [{ entries: alpineFs() }] },
      { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, config: longRunning, layers: [{ entries: alpineFs() }] },
    ]);
    digests['amd64only:1'] = await p.index('fixtures/amd64only', '1', [{ platform: { os: 'linux', architecture: 'amd64' }, config: longRunning, layers: [{ entries: alpineFs() }] }]);
    const single = async (name: string, img: FixtureImage) => {
      const [repo, tag] = name.split(':') as [string, string];
      digests[name] = (await p.image(`fixtures/${repo}`, img, tag)).digest;
    };
    await single('arm64only:1', { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, config: longRunning, layers: [{ entries: alpineFs() }] });
    await single('nonroot:1', { config: { ...longRunning, User: '1000' }, layers: [{ entries: alpineFs() }] });
    await single('named:1', { config: { ...longRunning, User: 'nginx' }, layers: [{ entries: alpineFs() }] });
    await single('rootuser:1', { config: { ...longRunning, User: '0:0' }, layers: [{ entries: alpineFs() }] });
    await single('noentry:1', { config: { Entrypoint: null, Cmd: null }, layers: [{ entries: alpineFs() }] });
    await single('emptyentry:1', { config: { Entrypoint: [''], Cmd: null }, layers: [{ entries: alpineFs() }] });
    await single('distroless:1', { config: { Entrypoint: ['/app/server'], User: '65532' }, layers: [{ entries: distrolessFs() }] });
    await single('alpine:3', { config: { Cmd: ['/bin/sh'] }, layers: [{ entries: alpineFs() }] });
    await single('layered:1', { config: { Cmd: ['bash'] }, layers: [{ entries: debianBase() }, { entries: debianSlimmed() }] });
    await single('zstd:1', { config: longRunning, layers: [{ entries: alpineFs(), compression: 'zstd' }] });
    await single('plain:1', { config: longRunning, layers: [{ entries: alpineFs(), compression: 'none' }] });
  } finally {
    await p.close();
  }
  return { ref: (name) => `${reg.host}/fixtures/${name}`, digests };
}

/** Pushes one image with a random (incompressible) layer of `bytes`, for the byte cap. */
export async function pushBigImage(reg: TestRegistry, name: string, bytes: number): Promise<string> {
  const p = new Pusher(reg);
  try {
    const { randomBytes } = await import('node:crypto');
    const [repo, tag] = name.split(':') as [string, string];
    await p.image(`fixtures/${repo}`, { config: { Cmd: ['sleep', 'infinity'] }, layers: [{ entries: [...alpineFs(), { path: 'blob.bin', mode: 0o644, content: randomBytes(bytes) }] }] }, tag);
    return `${reg.host}/fixtures/${name}`;
  } finally {
    await p.close();
  }
}

/** Debian-like nginx (1.14.2 predates docker-entrypoint.sh): dash as sh, nginx, no USER. */
function nginxFs(): TarEntry[] {
  return [...debianBase(), binary('usr/sbin/nginx'), { path: 'etc/nginx/nginx.conf', mode: 0o644, content: 'events {}\n' }];
}

/**
 * The images the examples/ manifests name, under their real names, for a registry that stands
 * in for docker.io and gcr.io (registry.hosts.<domain>.server):
 *   library/busybox:1.36   CMD ["sh"], busybox applets
 *   library/alpine:3.20    CMD ["/bin/sh"], busybox, no bash
 *   library/nginx:1.14.2   index linux/amd64 + linux/arm64/v8, CMD nginx -g 'daemon off;', no USER
 *   arm64v8/nginx:1.27     index with linux/arm64/v8 only
 *   distroless/static-debian12:nonroot   no ENTRYPOINT, no CMD, USER 65532
 */
export async function pushExampleImages(reg: TestRegistry): Promise<void> {
  const p = new Pusher(reg);
  const nginx = { Cmd: ['nginx', '-g', 'daemon off;'] };
  try {
    await p.image('library/busybox', { config: { Cmd: ['sh'] }, layers: [{ entries: alpineFs() }] }, '1.36');
    await p.image('library/alpine', { config: { Cmd: ['/bin/sh'] }, layers: [{ entries: alpineFs() }] }, '3.20');
    await p.index('library/nginx', '1.14.2', [
      { platform: { os: 'linux', architecture: 'amd64' }, config: nginx, layers: [{ entries: nginxFs() }] },
      { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, config: nginx, layers: [{ entries: nginxFs() }] },
    ]);
    await p.index('arm64v8/nginx', '1.27', [{ platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, config: nginx, layers: [{ entries: nginxFs() }] }]);
    await p.image('distroless/static-debian12', { config: { User: '65532' }, layers: [{ entries: distrolessFs() }] }, 'nonroot');
  } finally {
    await p.close();
  }
}
