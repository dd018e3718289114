import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import { indexLayer, unreadableLayer, zstdSupported } from '../../src/inspect/layer-reader.js';
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
