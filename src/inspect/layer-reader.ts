// Reads one layer blob as a stream: verifies its digest, picks the decompressor from the bytes
// themselves (gzip 1f 8b, zstd 28 b5 2f fd, else a plain tar), and feeds the tar headers to the
// indexer. Contents are never stored; memory stays at the decompressor's window plus one block.
//
// Media types (OCI image-spec media-types.md, layer.md; Docker Image Manifest V2 Schema 2):
//   application/vnd.oci.image.layer.v1.tar, +gzip, +zstd
//   application/vnd.docker.image.rootfs.diff.tar.gzip
// Non-distributable / foreign layers (Windows base layers, fetched from `urls`) and encrypted
// layers cannot be read here: the caller answers "cannot tell" for them.
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
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

/** Decompresses whatever comes, deciding from its first bytes. */
async function* decompress(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  let head: Buffer = Buffer.alloc(0);
  let finished = false;
  while (head.length < 4) {
    const r = await it.next();
    if (r.done) {
      finished = true;
      break;
    }
    head = head.length ? Buffer.concat([head, r.value]) : r.value;
  }
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    if (finished) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  const kind = sniff(head);
  if (kind === 'none') {
    yield* all();
    return;
  }
  if (kind === 'zstd' && !createZstd) throw new LayerReadError(zstdReason());
  const z = kind === 'gzip' ? zlib.createGunzip() : createZstd!();
  const source2 = Readable.from(all());
  source2.on('error', (err) => z.destroy(err));
  z.on('close', () => source2.destroy());
  source2.pipe(z);
  yield* z as AsyncIterable<Buffer>;
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
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  await pipeline(blob, tap, decompress, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) tar.write(chunk);
  });
  const got = hash.digest('hex');
  if (got !== expected) throw new LayerReadError(`layer ${opts.digest.slice(0, 19)}… does not match its digest`);
  return tar.end();
}
