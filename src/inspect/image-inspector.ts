// ImageInspector over a registry: what the node will find when it starts the image.
//
// config(): tag -> digest (HEAD, which Docker Hub does not count as a pull; cached briefly since
// tags move), manifest by digest (immutable, cached), through the index to the manifest the
// node's architecture pulls (platform.ts), then the config blob (cached by digest).
//
// files(): the layers of that manifest, each streamed once through a tar header reader
// (layer-reader.ts) and kept as a per-layer index in a cache bounded by a memory budget and
// shared between images (base layers are common). An image whose layers weigh more than
// maxBytesPerImage is not downloaded: "cannot tell". The work never follows a review's
// deadline: it goes on in the background, bounded by its own timeout, so the next review of the
// same image (the ReplicaSet's and the Pod's, right after a Deployment's) finds it ready.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ImageConfigLookup, ImageFilesLookup, ImageInspector, ImageRuntimeConfig, Platform } from '../checks/ports.js';
import type { ImageReference } from '../image/reference.js';
import type { CallOptions, GetBlobOptions, ManifestDescriptor, ManifestRef, RepoRef } from '../registry/client.js';
import { RegistryError } from '../registry/errors.js';
import * as MT from '../registry/media-types.js';
import type { SharedCache } from '../cache/shared-cache.js';
import { SingleFlight } from '../util/single-flight.js';
import { TtlCache } from '../util/ttl-cache.js';
import { ByteBudgetCache } from './byte-budget-cache.js';
import { LayeredFileSystem } from './file-tree.js';
import { indexLayer, unreadableLayer } from './layer-reader.js';
import { listedPlatforms, pickManifest } from './platform.js';
import type { LayerIndex } from './tar-index.js';

/** What the inspector needs from the registry client (src/registry/client.ts). */
export interface RegistryReader {
  headManifest(ref: ManifestRef, opts?: CallOptions): Promise<ManifestDescriptor>;
  getManifest(ref: ManifestRef, opts?: CallOptions): Promise<{ descriptor: ManifestDescriptor; body: Buffer }>;
  getBlob(ref: RepoRef & { digest: string }, opts?: GetBlobOptions): Promise<Readable>;
}

export interface ImageInspectorOptions {
  registry: RegistryReader;
  /** Images whose layers weigh more (compressed) are not downloaded: "cannot tell". */
  maxBytesPerImage: number;
  /** Memory budget of the layer index cache (estimated bytes). */
  cacheBytes: number;
  /** How long a tag's digest is reused (default 60 s). */
  tagTtlMs?: number;
  /** How long a failure is remembered before trying again (default 10 s). */
  errorTtlMs?: number;
  /** Time allowed to download and index one image, in the background (default 120 s). */
  indexTimeoutMs?: number;
  /** Layers downloaded at once, over all images (default 3). */
  maxConcurrentLayers?: number;
  /**
   * Images remembered (default 5000; the engine passes cache.maxEntries): the bound of each
   * per-image cache (tag digests, lookups, configs, failed indexes; manifests twice that, as an
   * image behind an index has two). The layer indexes are bounded by `cacheBytes` instead.
   */
  maxEntries?: number;
  /** Called when an image's file index was built (logs, metrics, benchmarks). */
  onIndexed?: (info: { image: string; layers: number; downloadedBytes: number; ms: number }) => void;
  /**
   * Resolves a tag to its digest through a lookup that asks the registry anyway (the existence
   * check), so one manifest request serves both; undefined: the inspector asks the registry itself.
   * A rejection means the lookup found nothing to read (missing, refused, unreachable): the
   * inspector then does not ask again (issue 12: that second HEAD 404 cost a GET to learn why).
   */
  resolveDigest?: (ref: ImageReference) => Promise<string | undefined>;
  /**
   * Why a manifest of `ref` must not be downloaded now (issue 12: a manifest GET is a counted
   * pull on Docker Hub; registry.hosts.<h>.inspect); undefined: go ahead. Cached manifests are
   * still used.
   */
  gate?: (ref: ImageReference) => string | undefined;
  /**
   * Issue 12: manifests and config blobs shared by the replicas, by registry host, repository
   * and digest (one download per digest per cluster). Read back only when the content matches
   * its digest: the cache is trusted for nothing.
   */
  shared?: SharedCache;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: Platform;
}

type Manifest =
  | { kind: 'index'; manifests: Descriptor[] }
  | { kind: 'image'; config: Descriptor; layers: Descriptor[] }
  | { kind: 'unsupported'; reason: string };

interface ResolvedImage {
  manifestDigest: string;
  layers: Descriptor[];
}

const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
const CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);

const DAY_MS = 24 * 3_600_000;
/** Manifests larger than this are not put in the shared cache (they are rare; Redis values stay small). */
const MAX_SHARED_BYTES = 1024 * 1024;

/** Whether `body` is the content of `digest` (sha256 or sha512). */
function matchesDigest(body: Buffer, digest: string): boolean {
  const [alg, hex] = digest.split(':', 2);
  if (alg !== 'sha256' && alg !== 'sha512') return false;
  return createHash(alg).update(body).digest('hex') === hex;
}

/** What the shared cache holds for a manifest or a config blob. */
interface SharedContent {
  /** base64 */
  body: string;
  mediaType?: string;
}

/** A decoder of SharedContent that accepts only `digest`'s content. */
function contentOf(digest: string): (raw: unknown) => SharedContent | undefined {
  return (raw) => {
    if (typeof raw !== 'object' || raw === null) return undefined;
    const r = raw as { body?: unknown; mediaType?: unknown };
    if (typeof r.body !== 'string' || !matchesDigest(Buffer.from(r.body, 'base64'), digest)) return undefined;
    return typeof r.mediaType === 'string' ? { body: r.body, mediaType: r.mediaType } : { body: r.body };
  };
}

function toShared(c: { body: Buffer; mediaType?: string }): SharedContent {
  return c.mediaType ? { body: c.body.toString('base64'), mediaType: c.mediaType } : { body: c.body.toString('base64') };
}

function fromShared(c: SharedContent): { body: Buffer; mediaType?: string } {
  const body = Buffer.from(c.body, 'base64');
  return c.mediaType ? { body, mediaType: c.mediaType } : { body };
}

export class InspectError extends Error {
  readonly code = 'INSPECT';
}

/** A few words on why the registry could not answer, for "could not verify" messages. */
export function describeRegistryFailure(err: unknown): string {
  if (err instanceof RegistryError) {
    switch (err.kind) {
      case 'timeout':
        return `${err.host} did not answer in time`;
      case 'not-found':
        return `${err.host} does not have it`;
      case 'unauthorized':
      case 'denied':
        return `${err.host} refused anonymous access`;
      case 'rate-limited':
        return `${err.host} is rate-limiting`;
      case 'too-large':
        return `${err.host} sent more than announced`;
      default:
        return `${err.host} failed (${err.kind}${err.status ? ` ${err.status}` : ''})`;
    }
  }
  return (err as Error)?.message ?? String(err);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strings(v: unknown): string[] | null {
  // An image config is JSON written by build tools: strings, but never trust it to be.
  return Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x) ?? '')) : null;
}

function descriptor(v: unknown): Descriptor | undefined {
  if (!isObj(v) || typeof v.digest !== 'string') return undefined;
  const d: Descriptor = { digest: v.digest, size: typeof v.size === 'number' ? v.size : 0 };
  if (typeof v.mediaType === 'string') d.mediaType = v.mediaType;
  if (isObj(v.platform) && typeof v.platform.architecture === 'string' && typeof v.platform.os === 'string') {
    d.platform = { os: v.platform.os, architecture: v.platform.architecture, ...(typeof v.platform.variant === 'string' && v.platform.variant ? { variant: v.platform.variant } : {}) };
  }
  return d;
}

/** Reads an image index / manifest list or an image manifest (OCI image-spec, Docker schema 2). */
export function parseManifest(body: Buffer, headerType: string | undefined): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return { kind: 'unsupported', reason: 'the manifest is not JSON' };
  }
  if (!isObj(json)) return { kind: 'unsupported', reason: 'the manifest is not a JSON object' };
  const mediaType = typeof json.mediaType === 'string' ? json.mediaType : headerType;
  if (json.schemaVersion === 1 || mediaType === MT.DOCKER_MANIFEST_V1 || mediaType === MT.DOCKER_MANIFEST_V1_SIGNED) {
    return { kind: 'unsupported', reason: 'it is a Docker schema 1 image (deprecated, not read)' };
  }
  if (Array.isArray(json.manifests)) {
    return { kind: 'index', manifests: json.manifests.map(descriptor).filter((d): d is Descriptor => d !== undefined) };
  }
  const config = descriptor(json.config);
  if (config && Array.isArray(json.layers)) {
    const layers = json.layers.map(descriptor);
    if (layers.some((l) => l === undefined)) return { kind: 'unsupported', reason: 'a layer descriptor is malformed' };
    if (config.mediaType && !CONFIG_TYPES.has(config.mediaType)) {
      return { kind: 'unsupported', reason: `it is not a container image (config type ${config.mediaType})` };
    }
    return { kind: 'image', config, layers: layers as Descriptor[] };
  }
  return { kind: 'unsupported', reason: `unknown manifest type ${mediaType ?? '(none)'}` };
}

/** The runtime part of an image config blob (image-spec config.md). */
export function parseImageConfig(body: Buffer): { platform: Platform; config: ImageRuntimeConfig } {
  const json = JSON.parse(body.toString('utf8')) as unknown;
  if (!isObj(json)) throw new InspectError('the image config is not a JSON object');
  const c = isObj(json.config) ? json.config : {};
  return {
    platform: {
      os: typeof json.os === 'string' ? json.os : '',
      architecture: typeof json.architecture === 'string' ? json.architecture : '',
      ...(typeof json.variant === 'string' && json.variant ? { variant: json.variant } : {}),
    },
    config: {
      user: typeof c.User === 'string' ? c.User : '',
      entrypoint: strings(c.Entrypoint),
      cmd: strings(c.Cmd),
      env: strings(c.Env) ?? [],
      workingDir: typeof c.WorkingDir === 'string' ? c.WorkingDir : '',
    },
  };
}

async function readAll(stream: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      stream.destroy();
      throw new InspectError(`blob larger than ${max} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** A counting semaphore: at most `max` layer downloads at once. */
class Limiter {
  #active = 0;
  readonly #waiting: Array<() => void> = [];
  constructor(private readonly max: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= this.max) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#active++;
    try {
      return await fn();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }
}

const mb = (n: number) => `${(n / 1_000_000).toFixed(n < 10_000_000 ? 1 : 0)} MB`;

export class RegistryImageInspector implements ImageInspector {
  readonly #opts: Required<Omit<ImageInspectorOptions, 'onIndexed' | 'resolveDigest' | 'gate' | 'shared'>> & Pick<ImageInspectorOptions, 'onIndexed' | 'resolveDigest' | 'gate' | 'shared'>;
  readonly #tags: TtlCache<string, string>;
  readonly #manifests: TtlCache<string, Manifest>;
  readonly #configs: TtlCache<string, { platform: Platform; config: ImageRuntimeConfig }>;
  readonly #lookups: TtlCache<string, ImageConfigLookup>;
  readonly #failedIndexes: TtlCache<string, string>;
  readonly #layers: ByteBudgetCache<string, LayerIndex>;
  readonly #lookupFlights = new SingleFlight<string, ImageConfigLookup>();
  readonly #imageFlights = new SingleFlight<string, ImageFilesLookup>();
  readonly #layerFlights = new SingleFlight<string, LayerIndex>();
  readonly #limiter: Limiter;
  /** Totals since start (metrics, benchmark). */
  readonly stats = { layersIndexed: 0, bytesDownloaded: 0, imagesIndexed: 0 };

  constructor(opts: ImageInspectorOptions) {
    this.#opts = {
      tagTtlMs: 60_000,
      errorTtlMs: 10_000,
      indexTimeoutMs: 120_000,
      maxConcurrentLayers: 3,
      maxEntries: 5000,
      ...opts,
    };
    // Every cache is bounded by the configured number of images, so their memory is too.
    const images = Math.max(1, Math.floor(this.#opts.maxEntries));
    this.#tags = new TtlCache(images);
    this.#manifests = new TtlCache(2 * images);
    this.#configs = new TtlCache(images);
    this.#lookups = new TtlCache(images);
    this.#failedIndexes = new TtlCache(images);
    this.#layers = new ByteBudgetCache(opts.cacheBytes, (l) => l.bytes);
    this.#limiter = new Limiter(this.#opts.maxConcurrentLayers);
  }

  /** Estimated memory held by cached layer indexes. */
  get cacheBytes(): number {
    return this.#layers.bytes;
  }

  async config(ref: ImageReference, architecture: string, _signal?: AbortSignal): Promise<ImageConfigLookup> {
    const key = `${ref.name}@${ref.reference}|${architecture}`;
    const cached = this.#lookups.get(key);
    if (cached) return cached;
    return this.#lookupFlights.do(key, async () => {
      const result = await this.#lookup(ref, architecture);
      const ttl = result.status === 'unknown' ? this.#opts.errorTtlMs : ref.digest ? DAY_MS : this.#opts.tagTtlMs;
      this.#lookups.set(key, result, ttl);
      return result;
    });
  }

  async files(ref: ImageReference, architecture: string, _signal?: AbortSignal): Promise<ImageFilesLookup> {
    const resolved = await this.config(ref, architecture);
    if (resolved.status === 'no-platform') return { status: 'unknown', reason: `it has no image for linux/${architecture}` };
    if (resolved.status === 'unknown') return resolved;
    let manifest: Manifest;
    try {
      manifest = await this.#manifest(ref, resolved.manifestDigest);
    } catch (err) {
      return { status: 'unknown', reason: describeRegistryFailure(err) };
    }
    if (manifest.kind !== 'image') return { status: 'unknown', reason: 'its manifest is not an image manifest' };
    const image: ResolvedImage = { manifestDigest: resolved.manifestDigest, layers: manifest.layers };

    for (const layer of image.layers) {
      const why = unreadableLayer(layer.mediaType);
      if (why) return { status: 'unknown', reason: why };
    }
    const total = image.layers.reduce((n, l) => n + l.size, 0);
    if (total > this.#opts.maxBytesPerImage) {
      return { status: 'unknown', reason: `its layers weigh ${mb(total)}, more than inspect.maxBytesPerImage (${mb(this.#opts.maxBytesPerImage)})` };
    }
    const ready = image.layers.map((l) => this.#layers.get(l.digest));
    if (ready.every((l): l is LayerIndex => l !== undefined)) return { status: 'found', files: new LayeredFileSystem(ready) };
    const failed = this.#failedIndexes.get(image.manifestDigest);
    if (failed) return { status: 'unknown', reason: failed };
    return this.#imageFlights.do(image.manifestDigest, () => this.#indexImage(ref, image));
  }

  // ---- internals ----

  async #lookup(ref: ImageReference, architecture: string): Promise<ImageConfigLookup> {
    if (ref.domain === '') return { status: 'unknown', reason: 'the reference has no registry' };
    try {
      const digest = ref.digest ?? (await this.#digestOf(ref));
      let manifestDigest = digest;
      let manifest = await this.#manifest(ref, digest);
      let index: Platform[] | undefined;
      if (manifest.kind === 'index') {
        index = listedPlatforms(manifest.manifests);
        const picked = pickManifest(manifest.manifests, architecture);
        if (!picked) return { status: 'no-platform', architecture, available: index };
        manifestDigest = picked.digest;
        manifest = await this.#manifest(ref, picked.digest);
        if (manifest.kind === 'index') return { status: 'unknown', reason: 'it is an index of indexes' };
      }
      if (manifest.kind === 'unsupported') return { status: 'unknown', reason: manifest.reason };
      const parsed = await this.#config(ref, manifest.config.digest);
      return {
        status: 'found',
        manifestDigest,
        configDigest: manifest.config.digest,
        platform: parsed.platform,
        config: parsed.config,
        ...(index ? { index } : {}),
      };
    } catch (err) {
      return { status: 'unknown', reason: describeRegistryFailure(err) };
    }
  }

  /**
   * A manifest someone else downloaded (the existence lookup GETs it when inspection is on):
   * cached by its digest, so resolving that digest costs no request. The registry client has
   * verified the body against the digest.
   */
  async rememberManifest(digest: string, body: Buffer, mediaType: string | undefined, ref?: Pick<ImageReference, 'domain' | 'path'>): Promise<void> {
    if (this.#manifests.get(digest)) return;
    try {
      this.#manifests.set(digest, parseManifest(body, mediaType), DAY_MS);
    } catch {
      // not a manifest this inspector reads: it will ask (and fail) on its own
      return;
    }
    // Resolved once the shared copy is stored (set never rejects): the lookup's single flight
    // waits for it, so a replica that got the lookup from the cache finds the manifest there too.
    if (ref && this.#opts.shared && body.length <= MAX_SHARED_BYTES) {
      await this.#opts.shared.set('manifest', [ref.domain, ref.path, digest], toShared(mediaType ? { body, mediaType } : { body }), DAY_MS);
    }
  }

  async #digestOf(ref: ImageReference): Promise<string> {
    const key = `${ref.name}:${ref.reference}`;
    const hit = this.#tags.get(key);
    if (hit) return hit;
    const shared = await this.#opts.resolveDigest?.(ref);
    if (shared) {
      this.#tags.set(key, shared, this.#opts.tagTtlMs);
      return shared;
    }
    const desc = await this.#opts.registry.headManifest({ domain: ref.domain, path: ref.path, reference: ref.reference });
    if (!desc.digest) throw new InspectError(`${ref.domain} did not tell the manifest digest`);
    this.#tags.set(key, desc.digest, this.#opts.tagTtlMs);
    return desc.digest;
  }

  /**
   * Content addressed by `digest`, from the replicas' shared cache when one holds it, else
   * downloaded once across them (single flight) and shared for a day when small enough.
   */
  async #throughShared(kind: 'manifest' | 'config', ref: ImageReference, digest: string, download: () => Promise<{ body: Buffer; mediaType?: string }>): Promise<{ body: Buffer; mediaType?: string }> {
    const shared = this.#opts.shared;
    if (!shared) return download();
    return fromShared(
      await shared.flight(kind, [ref.domain, ref.path, digest], contentOf(digest), async () => {
        const got = await download();
        return { value: toShared(got), ttlMs: got.body.length <= MAX_SHARED_BYTES ? DAY_MS : 0 };
      }),
    );
  }

  async #manifest(ref: ImageReference, digest: string): Promise<Manifest> {
    const hit = this.#manifests.get(digest);
    if (hit) return hit;
    const download = async (): Promise<{ body: Buffer; mediaType?: string }> => {
      // The gate is asked only when a download would happen: a shared copy costs no pull.
      const refused = this.#opts.gate?.(ref);
      if (refused) throw new InspectError(refused);
      const { descriptor: d, body } = await this.#opts.registry.getManifest({ domain: ref.domain, path: ref.path, reference: digest });
      return d.mediaType ? { body, mediaType: d.mediaType } : { body };
    };
    const got = await this.#throughShared('manifest', ref, digest, download);
    const parsed = parseManifest(got.body, got.mediaType);
    this.#manifests.set(digest, parsed, DAY_MS);
    return parsed;
  }

  async #config(ref: ImageReference, digest: string): Promise<{ platform: Platform; config: ImageRuntimeConfig }> {
    const hit = this.#configs.get(digest);
    if (hit) return hit;
    const download = async (): Promise<{ body: Buffer }> => {
      const stream = await this.#opts.registry.getBlob({ domain: ref.domain, path: ref.path, digest }, { maxBytes: MAX_CONFIG_BYTES });
      const body = await readAll(stream, MAX_CONFIG_BYTES);
      if (!matchesDigest(body, digest)) throw new InspectError('the image config does not match its digest');
      return { body };
    };
    const { body } = await this.#throughShared('config', ref, digest, download);
    const parsed = parseImageConfig(body);
    this.#configs.set(digest, parsed, DAY_MS);
    return parsed;
  }

  async #indexImage(ref: ImageReference, image: ResolvedImage): Promise<ImageFilesLookup> {
    const started = Date.now();
    const signal = AbortSignal.timeout(this.#opts.indexTimeoutMs);
    let downloaded = 0;
    try {
      const indexes = await Promise.all(
        image.layers.map((layer) => {
          const cached = this.#layers.get(layer.digest);
          if (cached) return cached;
          return this.#layerFlights.do(layer.digest, () =>
            this.#limiter.run(async () => {
              if (signal.aborted) throw new InspectError('indexing took longer than allowed');
              const blob = await this.#opts.registry.getBlob({ domain: ref.domain, path: ref.path, digest: layer.digest }, { signal, maxBytes: layer.size || this.#opts.maxBytesPerImage });
              // One layer's index may not outgrow the whole cache budget (1 MiB at least).
              const idx = await indexLayer(blob, { digest: layer.digest, maxIndexBytes: Math.max(this.#opts.cacheBytes, 1024 * 1024) });
              downloaded += layer.size;
              this.stats.layersIndexed++;
              this.stats.bytesDownloaded += layer.size;
              this.#layers.set(layer.digest, idx);
              return idx;
            }),
          );
        }),
      );
      this.stats.imagesIndexed++;
      this.#opts.onIndexed?.({ image: ref.normalized, layers: image.layers.length, downloadedBytes: downloaded, ms: Date.now() - started });
      return { status: 'found', files: new LayeredFileSystem(indexes) };
    } catch (err) {
      const reason = signal.aborted
        ? `indexing its layers took longer than ${Math.round(this.#opts.indexTimeoutMs / 1000)} s`
        : err instanceof RegistryError
          ? describeRegistryFailure(err)
          : `a layer could not be read (${(err as Error)?.message ?? err})`;
      this.#failedIndexes.set(image.manifestDigest, reason, this.#opts.errorTtlMs);
      return { status: 'unknown', reason };
    }
  }
}
