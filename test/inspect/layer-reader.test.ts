import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { LayerSink, indexLayer, unreadableLayer, zstdSupported } from '../../src/inspect/layer-reader.js';
import { TarIndexer } from '../../src/inspect/tar-index.js';
import { binary, buildTar } from '../helpers/tar-builder.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
/** A stream that hands the bytes over in small pieces, as a socket would. */
const chunked = (b: Buffer, size = 1000) => Readable.from((function* () { for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size); })());

const tar = buildTar([binary('bin/app'), { path: 'bin/sh', type: 'symlink', target: 'app' }, { path: 'data', content: Buffer.alloc(200_000, 7) }]);

t.test('a gzip layer is decompressed and indexed', async (t) => {
  const gz = gzipSync(tar);
  const idx = await indexLayer(chunked(gz), { digest: sha(gz) });
  t.same([...idx.entries.keys()].sort(), ['bin/app', 'bin/sh', 'data']);
});

t.test('an uncompressed layer is indexed as is', async (t) => {
  const idx = await indexLayer(chunked(tar, 777), { digest: sha(tar) });
  t.ok(idx.entries.has('bin/app'));
});

t.test('a multi-member gzip layer (pigz, concatenated streams) is read whole', async (t) => {
  const half = 512 * 3;
  const gz = Buffer.concat([gzipSync(tar.subarray(0, half)), gzipSync(tar.subarray(half))]);
  const idx = await indexLayer(chunked(gz), { digest: sha(gz) });
  t.ok(idx.entries.has('data'));
});

t.test('zstd: indexed where node:zlib has it, else refused with the reason', async (t) => {
  const zst = execFileSync('zstd', ['-q', '-c'], { input: tar });
  if (zstdSupported()) {
    const idx = await indexLayer(chunked(zst), { digest: sha(zst) });
    t.ok(idx.entries.has('bin/app'));
    t.equal(unreadableLayer('application/vnd.oci.image.layer.v1.tar+zstd'), undefined);
  } else {
    await t.rejects(indexLayer(chunked(zst), { digest: sha(zst) }), /zstd-compressed layers, which need Node\.js 22\.15 or later/);
    t.match(unreadableLayer('application/vnd.oci.image.layer.v1.tar+zstd'), /Node\.js 22\.15/);
  }
});

t.test('content that does not match its digest is refused', async (t) => {
  const gz = gzipSync(tar);
  await t.rejects(indexLayer(chunked(gz), { digest: sha(Buffer.from('other')) }), /does not match its digest/);
});

t.test('a broken gzip stream and a stream error are refused', async (t) => {
  const gz = gzipSync(tar);
  await t.rejects(indexLayer(chunked(gz.subarray(0, gz.length - 100)), { digest: sha(gz) }));
  const failing = new Readable({ read() { this.destroy(new Error('socket hang up')); } });
  await t.rejects(indexLayer(failing, { digest: sha(gz) }), /socket hang up/);
});

t.test('media types that cannot be indexed say why', async (t) => {
  t.equal(unreadableLayer('application/vnd.oci.image.layer.v1.tar+gzip'), undefined);
  t.equal(unreadableLayer('application/vnd.docker.image.rootfs.diff.tar.gzip'), undefined);
  t.match(unreadableLayer('application/vnd.docker.image.rootfs.foreign.diff.tar.gzip'), /non-distributable/);
  t.match(unreadableLayer('application/vnd.oci.image.layer.v1.tar+gzip+encrypted'), /encrypted/);
  t.match(unreadableLayer('application/vnd.cncf.helm.chart.content.v1.tar+gzip'), /unknown type/);
});

t.test('the first bytes may come one at a time: the compression is still told from them', async (t) => {
  const gz = gzipSync(tar);
  const trickle = Readable.from((function* () {
    for (let i = 0; i < 6; i++) yield gz.subarray(i, i + 1);
    yield gz.subarray(6);
  })());
  const idx = await indexLayer(trickle, { digest: sha(gz) });
  t.same([...idx.entries.keys()].sort(), ['bin/app', 'bin/sh', 'data']);
});

t.test('a gzip stream that is not a tar archive is refused (the tar error ends the pipeline)', async (t) => {
  const gz = gzipSync(Buffer.alloc(4096, 0x41));
  await t.rejects(indexLayer(chunked(gz), { digest: sha(gz) }), { code: 'TAR_FORMAT' });
});

t.test('a layer is pulled no faster than it is indexed: one chunk in flight, whatever its size', async (t) => {
  // 32 MiB of incompressible data stored uncompressed in gzip (level 0): compressed bytes and
  // decompressed bytes then match one to one, so how far the source is read ahead of what the
  // tar reader has received is the memory the pipeline holds for this layer.
  const size = 32 * 1024 * 1024;
  const big = buildTar([{ path: 'blob.bin', content: randomBytes(size) }]);
  const gz = gzipSync(big, { level: 0 });
  const chunk = 64 * 1024;
  let pulled = 0;
  const source = new Readable({
    highWaterMark: chunk,
    read() {
      if (pulled >= gz.length) return void this.push(null);
      const piece = gz.subarray(pulled, pulled + chunk);
      pulled += piece.length;
      this.push(piece);
    },
  });
  let received = 0;
  let maxAhead = 0;
  const tarReader = new TarIndexer();
  const counting = {
    write(c: Buffer) {
      received += c.length;
      maxAhead = Math.max(maxAhead, pulled - received);
      tarReader.write(c);
    },
  };
  await pipeline(source, new LayerSink(createHash('sha256'), counting));
  t.equal(received, big.length, 'every byte reached the tar reader');
  t.ok(tarReader.end().entries.has('blob.bin'));
  // The source's buffer, the chunk being decompressed and zlib's output buffer: a few chunks.
  t.ok(maxAhead <= 8 * chunk, `read ahead of the tar reader by at most 8 chunks (${maxAhead} bytes)`);
});
