// Reads one layer blob as a stream: verifies its digest, picks the decompressor from the bytes
// themselves (gzip 1f 8b, zstd 28 b5 2f fd, else a plain tar), and feeds the tar headers to the
// indexer. Contents are never stored; memory stays at the decompressor's window plus one block.
//
// Media types (OCI image-spec media-types.md, layer.md; Docker Image Manifest V2 Schema 2):
//   application/vnd.oci.image.layer.v1.tar, +gzip, +zstd
//   application/vnd.docker.image.rootfs.diff.tar.gzip
// Non-distributable / foreign layers (Windows base layers, fetched from `urls`) and encrypted
// layers cannot be read here: the caller answers "cannot tell" for them.
import { createHash, type Hash } from 'node:crypto';
import { Writable, type Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { TarIndexer, type LayerIndex } from './tar-index.js';

export class LayerReadError extends Error {
  readonly code = 'LAYER_READ';
}

const READABLE_LAYER_TYPES = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.diff.tar',
]);

/** Why a layer of this media type cannot be indexed, or undefined when it can. */
export function unreadableLayer(mediaType: string | undefined): string | undefined {
  if (mediaType === undefined || READABLE_LAYER_TYPES.has(mediaType)) {
    if (mediaType?.endsWith('+zstd') && !zstdSupported()) return zstdReason();
    return undefined;
  }
  if (mediaType.includes('nondistributable') || mediaType.includes('foreign')) return `it has a non-distributable layer (${mediaType})`;
  if (mediaType.includes('encrypted')) return `it has an encrypted layer (${mediaType})`;
  return `it has a layer of unknown type ${mediaType}`;
}

type ZstdFactory = () => Transform;
const createZstd = (zlib as unknown as { createZstdDecompress?: ZstdFactory }).createZstdDecompress;

/** node:zlib has zstd from Node.js 22.15 / 23.8 on. */
export function zstdSupported(): boolean {
  return typeof createZstd === 'function';
}

function zstdReason(): string {
  return `it has zstd-compressed layers, which need Node.js 22.15 or later (this is ${process.version})`;
}

type Compression = 'gzip' | 'zstd' | 'none';

function sniff(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/**
 * The end of a layer's pipeline: hashes the compressed bytes, decompresses them (the codec is
 * chosen from the first bytes) and hands the output to the tar reader synchronously, as it
 * comes out of the decompressor. No decompressed byte waits in a queue, and the next
 * compressed chunk is taken only once the decompressor is done with this one: the socket is
 * paused meanwhile (back-pressure), so what a layer holds in memory is one chunk of each kind,
 * whatever the layer weighs.
 */
export class LayerSink extends Writable {
  readonly #hash: Hash;
  readonly #tar: Pick<TarIndexer, 'write'>;
  /** The first bytes, until there are enough to tell the compression. */
  #head: Buffer[] = [];
  #headBytes = 0;
  #kind: Compression | undefined;
  #z: Transform | undefined;

  /** `tar` receives the decompressed bytes (a TarIndexer; tests pass their own). */
  constructor(hash: Hash, tar: Pick<TarIndexer, 'write'>) {
    // One chunk at a time: a second waits upstream, where the socket's own buffer bounds it.
    super({ highWaterMark: 1, objectMode: false });
    this.#hash = hash;
    this.#tar = tar;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#hash.update(chunk);
    if (this.#kind === undefined) {
      this.#head.push(chunk);
      this.#headBytes += chunk.length;
      if (this.#headBytes < 4) return cb();
      chunk = this.#head.length === 1 ? chunk : Buffer.concat(this.#head, this.#headBytes);
      this.#head = [];
      try {
        this.#start(sniff(chunk));
      } catch (err) {
        return cb(err as Error);
      }
    }
    this.#feed(chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.#kind === undefined) {
      // Fewer than 4 bytes in all: not compressed (and not a tar either, which end() says).
      this.#kind = 'none';
      const head = Buffer.concat(this.#head, this.#headBytes);
      this.#head = [];
      return this.#feed(head, cb);
    }
    const z = this.#z;
    if (!z) return cb();
    // Done when the decompressor has flushed its last bytes into the tar reader.
    const onEnd = (): void => {
      z.off('error', onError);
      cb();
    };
    const onError = (err: Error): void => {
      z.off('end', onEnd);
      cb(err);
    };
    z.once('end', onEnd);
    z.once('error', onError);
    z.end();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#z?.destroy();
    cb(err);
  }

  #start(kind: Compression): void {
    this.#kind = kind;
    if (kind === 'none') return;
    if (kind === 'zstd' && !createZstd) throw new LayerReadError(zstdReason());
    const z = kind === 'gzip' ? zlib.createGunzip() : createZstd!();
    z.on('data', (out: Buffer) => {
      try {
        this.#tar.write(out);
      } catch (err) {
        this.destroy(err as Error);
      }
    });
    // A corrupt stream: the pending write (or _final) hears it through its callback too.
    z.on('error', (err) => this.destroy(err));
    this.#z = z;
  }

  #feed(chunk: Buffer, cb: (err?: Error | null) => void): void {
    const z = this.#z;
    if (!z) {
      try {
        this.#tar.write(chunk);
      } catch (err) {
        return cb(err as Error);
      }
      return cb();
    }
    // The callback comes once zlib has taken the whole chunk (its output already written to
    // the tar reader by the 'data' listener).
    z.write(chunk, (err) => cb(err ?? null));
  }
}

export interface ReadLayerOptions {
  /** 'sha256:...': the compressed bytes must hash to it. */
  digest: string;
  /** Memory bound of the layer's file index (TarIndexer). */
  maxIndexBytes?: number;
}

/**
 * Indexes one layer from its (compressed) blob stream. Rejects on a digest mismatch, a broken
 * archive or a stream error; destroys the stream when done or failed.
 */
export async function indexLayer(blob: Readable, opts: ReadLayerOptions): Promise<LayerIndex> {
  const [algorithm, expected] = opts.digest.split(':', 2);
  if ((algorithm !== 'sha256' && algorithm !== 'sha512') || !expected) throw new LayerReadError(`unsupported digest ${opts.digest}`);
  const hash = createHash(algorithm);
  const tar = new TarIndexer(opts.maxIndexBytes !== undefined ? { maxIndexBytes: opts.maxIndexBytes } : {});
  await pipeline(blob, new LayerSink(hash, tar));
  const got = hash.digest('hex');
  if (got !== expected) throw new LayerReadError(`layer ${opts.digest.slice(0, 19)}… does not match its digest`);
  return tar.end();
}
