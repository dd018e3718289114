// Real images for issue 15: root file systems built from Debian bookworm packages by
// test/fixtures/debian/build.sh (mmdebstrap), cached under ~/.cache/backoff-guard/debian-images/
// <key of the package versions>, and pushed here to a test registry through the distribution
// API (POST /v2/<name>/blobs/uploads/, cross-repository mount, PUT <location>?digest=,
// PUT /v2/<name>/manifests/<reference>), each in every shape a registry serves:
//   <tag>             OCI image index: linux/amd64 (the real file system) + linux/arm64 (config only)
//   <tag>-oci         OCI image manifest, gzip layers
//   <tag>-docker      Docker Image Manifest V2 Schema 2, gzip layers
//   <tag>-dockerlist  Docker manifest list: linux/amd64 + linux/arm64 (config only)
//   <tag>-zstd        OCI image manifest, zstd layers (Docker schema 2 has no zstd layer type)
// "Config only": no arm64 file system is built (mmdebstrap would need qemu-user); that
// platform's manifest has the image's config with architecture arm64 and one empty layer, so an
// index has the shape of a real multi-platform one. Only platform picking may look at it.
//
// Independent of src/registry and src/inspect, like image-fixtures.ts: a bug there cannot shape
// its own fixtures.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { Agent, request } from 'undici';
import { DEFAULT_PATH, type ImageRuntimeConfig } from './registry-fixtures.js';
import type { TestRegistry } from './registry.js';

const BUILD_SCRIPT = fileURLToPath(new URL('../fixtures/debian/build.sh', import.meta.url));
export const CACHE_ROOT = process.env['BACKOFF_GUARD_DEBIAN_IMAGES'] ?? join(homedir(), '.cache', 'backoff-guard', 'debian-images');
/** The instant build.sh clamps every mtime to (SOURCE_DATE_EPOCH): the images' `created`. */
const EPOCH = 1_700_000_000;

export interface BuiltLayers {
  /** The cache folder of this set of package versions. */
  dir: string;
  /** build.sh's wall time in this process (a cached run only checks the key). */
  seconds: number;
  /** Whether the folder was already complete before this call. */
  cached: boolean;
  /** "<image> <package>=<version>" lines of what was installed. */
  versions: string[];
}

/** Runs build.sh (mmdebstrap; several minutes the first time, a second when cached). */
export async function buildDebianLayers(opts: { timeoutMs?: number } = {}): Promise<BuiltLayers> {
  const started = Date.now();
  const cachedBefore = await new Promise<string>((resolve, reject) => {
    execFile('bash', [BUILD_SCRIPT, CACHE_ROOT], { timeout: opts.timeoutMs ?? 20 * 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`test/fixtures/debian/build.sh failed: ${err.message}\n${stderr.slice(-4000)}`));
      else resolve(`${stderr}\n${stdout}`);
    });
  });
  const lines = cachedBefore.trim().split('\n');
  const dir = lines[lines.length - 1]!;
  return {
    dir,
    seconds: (Date.now() - started) / 1000,
    // build.sh logs its steps on stderr only when it builds.
    cached: !cachedBefore.includes('build.sh ['),
    versions: readFileSync(join(dir, 'versions.txt'), 'utf8').trim().split('\n'),
  };
}

// ---- the images ----

export type Shape = 'index' | 'oci' | 'docker' | 'dockerlist' | 'zstd';
export const SHAPES: readonly Shape[] = ['index', 'oci', 'docker', 'dockerlist', 'zstd'];

export interface RealImageSpec {
  /** Repository in the test registry. */
  repo: string;
  tag: string;
  /** Layer files of build.sh (<name>.tar, .tar.gz, .tar.zst), lowest first. */
  layers: string[];
  config: ImageRuntimeConfig;
}

/**
 * The image set. Configs follow the Docker Official Images' Dockerfiles where one exists
 * (docker-library/{debian,busybox,python,nginx,node}); the file systems are Debian's, not theirs
 * (python has no /usr/local/bin/python, node is Debian's nodejs 18).
 */
export const REAL_IMAGES = {
  minbase: { repo: 'real/debian', tag: 'bookworm-minbase', layers: ['debian-minbase'], config: { Cmd: ['bash'] } },
  busybox: { repo: 'real/busybox', tag: '1.35', layers: ['busybox'], config: { Cmd: ['sh'] } },
  python: { repo: 'real/python', tag: '3.11', layers: ['python'], config: { Cmd: ['python3'] } },
  nginx: {
    repo: 'real/nginx',
    tag: '1.22',
    layers: ['nginx'],
    config: { Entrypoint: ['/docker-entrypoint.sh'], Cmd: ['nginx', '-g', 'daemon off;'], ExposedPorts: { '80/tcp': {} }, StopSignal: 'SIGQUIT' },
  },
  // docker-library/node: ENTRYPOINT ["docker-entrypoint.sh"] is a relative name, found in PATH.
  node: { repo: 'real/node', tag: '18', layers: ['node'], config: { Entrypoint: ['docker-entrypoint.sh'], Cmd: ['node'] } },
  staticNonroot: { repo: 'real/static-nonroot', tag: 'nonroot', layers: ['static-nonroot'], config: { Entrypoint: ['/catatonit', '-P'], User: '65532', WorkingDir: '/home/nonroot' } },
  slimmed: { repo: 'real/slimmed', tag: '1', layers: ['slimmed-1', 'slimmed-2'], config: { Cmd: ['bash'] } },
  busyboxApp: { repo: 'real/busybox-app', tag: '1', layers: ['busybox', 'busybox-app'], config: { Cmd: ['/usr/local/bin/start.sh'], WorkingDir: '/app' } },
} satisfies Record<string, RealImageSpec>;
export type RealImageName = keyof typeof REAL_IMAGES;

const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
}

class Pusher {
  readonly agent: Agent;
  /** digest -> a repository holding it, for cross-repository mounts. */
  readonly #where = new Map<string, string>();
  constructor(readonly reg: TestRegistry) {
    if (reg.auth !== 'none') throw new Error('real images need an auth: none registry');
    this.agent = new Agent({ connect: { ca: reg.caPem }, bodyTimeout: 120_000, headersTimeout: 120_000 });
  }

  async blob(repo: string, data: Buffer | (() => Buffer), digest?: string): Promise<{ digest: string; size: number }> {
    const bytes = typeof data === 'function' && digest ? undefined : typeof data === 'function' ? data() : data;
    const d = digest ?? sha256(bytes!);
    const from = this.#where.get(d);
    if (from === repo) return { digest: d, size: this.#size(d) };
    if (from) {
      // Distribution's cross-repository blob mount: 201 when mounted, 202 (an upload) otherwise.
      const mount = await request(new URL(`/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(d)}&from=${encodeURIComponent(from)}`, this.reg.url), { dispatcher: this.agent, method: 'POST' });
      await mount.body.text();
      if (mount.statusCode === 201) return { digest: d, size: this.#size(d) };
    }
    const body = bytes ?? (data as () => Buffer)();
    const start = await request(new URL(`/v2/${repo}/blobs/uploads/`, this.reg.url), { dispatcher: this.agent, method: 'POST' });
    await start.body.text();
    if (start.statusCode !== 202) throw new Error(`blob upload start: ${start.statusCode}`);
    const location = new URL(String(start.headers['location']), this.reg.url);
    location.searchParams.set('digest', d);
    const put = await request(location, { dispatcher: this.agent, method: 'PUT', body, headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length) } });
    const text = await put.body.text();
    if (put.statusCode !== 201) throw new Error(`blob upload ${repo} ${d}: ${put.statusCode} ${text}`);
    this.#where.set(d, repo);
    this.#sizes.set(d, body.length);
    return { digest: d, size: body.length };
  }

  readonly #sizes = new Map<string, number>();
  #size(d: string): number {
    return this.#sizes.get(d)!;
  }

  async manifest(repo: string, reference: string, mediaType: string, body: Buffer): Promise<Descriptor> {
    const res = await request(new URL(`/v2/${repo}/manifests/${reference}`, this.reg.url), { dispatcher: this.agent, method: 'PUT', body, headers: { 'content-type': mediaType } });
    const text = await res.body.text();
    if (res.statusCode !== 201) throw new Error(`manifest PUT ${repo}:${reference}: ${res.statusCode} ${text}`);
    return { mediaType, digest: sha256(body), size: body.length };
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

interface LayerFile {
  diffId: string;
  gz: { path: string; digest: string; size: number };
  zst: { path: string; digest: string; size: number };
}

function layerFiles(dir: string): Map<string, LayerFile> {
  const sums = new Map<string, string>();
  for (const line of readFileSync(join(dir, 'sha256sums.txt'), 'utf8').trim().split('\n')) {
    const [hex, name] = line.split(/\s+/) as [string, string];
    sums.set(name, `sha256:${hex}`);
  }
  const out = new Map<string, LayerFile>();
  for (const [name, digest] of sums) {
    if (!name.endsWith('.tar')) continue;
    const base = name.slice(0, -4);
    const file = (ext: string) => ({ path: join(dir, `${base}${ext}`), digest: sums.get(`${base}${ext}`)!, size: statSync(join(dir, `${base}${ext}`)).size });
    out.set(base, { diffId: digest, gz: file('.tar.gz'), zst: file('.tar.zst') });
  }
  return out;
}

/** 1024 zero bytes: an empty tar archive (two end-of-archive blocks), for the config-only platform. */
const EMPTY_TAR = Buffer.alloc(1024);

export interface PushedRealImages {
  /** `host/repo:tag[-shape]` of an image in a shape. */
  ref(name: RealImageName, shape?: Shape): string;
  /** linux/arm64 only (config only): the busybox config in an OCI index with one platform. */
  arm64Only: string;
  /** Compressed bytes pushed (each distinct blob once). */
  pushedBytes: number;
}

/** Pushes every image of REAL_IMAGES in every shape, plus the arm64-only index. */
export async function pushRealImages(reg: TestRegistry, built: BuiltLayers): Promise<PushedRealImages> {
  const files = layerFiles(built.dir);
  const p = new Pusher(reg);
  let pushedBytes = 0;
  const seen = new Set<string>();
  const count = (d: { digest: string; size: number }) => {
    if (!seen.has(d.digest)) pushedBytes += d.size;
    seen.add(d.digest);
    return d;
  };
  const emptyGz = gzipSync(EMPTY_TAR);

  const configBlob = (spec: RealImageSpec, architecture: string, diffIds: string[]): Buffer =>
    Buffer.from(
      JSON.stringify({
        created: new Date(EPOCH * 1000).toISOString(),
        architecture,
        os: 'linux',
        ...(architecture === 'arm64' ? { variant: 'v8' } : {}),
        config: { Env: [DEFAULT_PATH], ...spec.config },
        rootfs: { type: 'layers', diff_ids: diffIds },
        history: spec.layers.map((l) => ({ created: new Date(EPOCH * 1000).toISOString(), created_by: `test/fixtures/debian/build.sh (${l})` })),
      }),
    );

  try {
    const amd64 = { os: 'linux', architecture: 'amd64' };
    const arm64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };
    const single = async (spec: RealImageSpec, format: 'oci' | 'docker', compression: 'gzip' | 'zstd', ref: string): Promise<Descriptor> => {
      const layers: Descriptor[] = [];
      const diffIds: string[] = [];
      for (const name of spec.layers) {
        const f = files.get(name);
        if (!f) throw new Error(`build.sh made no layer ${name} in ${built.dir}`);
        const c = compression === 'gzip' ? f.gz : f.zst;
        const d = count(await p.blob(spec.repo, () => readFileSync(c.path), c.digest));
        layers.push({ mediaType: format === 'docker' ? MT.dockerGzip : compression === 'gzip' ? MT.ociGzip : MT.ociZstd, digest: d.digest, size: d.size });
        diffIds.push(f.diffId);
      }
      const config = configBlob(spec, 'amd64', diffIds);
      const cd = count(await p.blob(spec.repo, config));
      const mt = format === 'docker' ? MT.dockerManifest : MT.ociManifest;
      const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mt, config: { mediaType: format === 'docker' ? MT.dockerConfig : MT.ociConfig, ...cd }, layers }, null, 3));
      return { ...(await p.manifest(spec.repo, ref, mt, body)), platform: amd64 };
    };
    const configOnlyArm64 = async (spec: RealImageSpec, format: 'oci' | 'docker'): Promise<Descriptor> => {
      const layer = count(await p.blob(spec.repo, emptyGz));
      const config = configBlob(spec, 'arm64', [sha256(EMPTY_TAR)]);
      const cd = count(await p.blob(spec.repo, config));
      const mt = format === 'docker' ? MT.dockerManifest : MT.ociManifest;
      const body = Buffer.from(
        JSON.stringify({ schemaVersion: 2, mediaType: mt, config: { mediaType: format === 'docker' ? MT.dockerConfig : MT.ociConfig, ...cd }, layers: [{ mediaType: format === 'docker' ? MT.dockerGzip : MT.ociGzip, ...layer }] }, null, 3),
      );
      const d = await p.manifest(spec.repo, sha256(body), mt, body);
      return { ...d, platform: arm64 };
    };
    const index = async (repo: string, ref: string, format: 'oci' | 'docker', manifests: Descriptor[]): Promise<void> => {
      const mt = format === 'docker' ? MT.dockerList : MT.ociIndex;
      await p.manifest(repo, ref, mt, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mt, manifests }, null, 3)));
    };

    for (const spec of Object.values(REAL_IMAGES) as RealImageSpec[]) {
      const oci = await single(spec, 'oci', 'gzip', `${spec.tag}-oci`);
      const docker = await single(spec, 'docker', 'gzip', `${spec.tag}-docker`);
      await single(spec, 'oci', 'zstd', `${spec.tag}-zstd`);
      await index(spec.repo, spec.tag, 'oci', [oci, await configOnlyArm64(spec, 'oci')]);
      await index(spec.repo, `${spec.tag}-dockerlist`, 'docker', [docker, await configOnlyArm64(spec, 'docker')]);
    }
    const bb = REAL_IMAGES.busybox as RealImageSpec;
    const arm = await configOnlyArm64({ ...bb, repo: 'real/arm64only' }, 'oci');
    await index('real/arm64only', '1', 'oci', [arm]);
  } finally {
    await p.close();
  }
  return {
    ref: (name, shape = 'index') => {
      const spec = REAL_IMAGES[name];
      return `${reg.host}/${spec.repo}:${spec.tag}${shape === 'index' ? '' : `-${shape}`}`;
    },
    arm64Only: `${reg.host}/real/arm64only:1`,
    pushedBytes,
  };
}
