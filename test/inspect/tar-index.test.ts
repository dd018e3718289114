import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, chmodSync, linkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { TarIndexer, cleanPath, indexTarBuffer } from '../../src/inspect/tar-index.js';
import { binary, buildTar, opaque, script, whiteout } from '../helpers/tar-builder.js';

t.test('paths are cleaned the way the layer would be unpacked', async (t) => {
  t.equal(cleanPath('./bin/sh'), 'bin/sh');
  t.equal(cleanPath('/usr/bin/'), 'usr/bin');
  t.equal(cleanPath('a//b/./c/../d'), 'a/b/d');
  t.equal(cleanPath('./'), '');
});

t.test('files, directories, symlinks, modes and shebangs are indexed; contents are not kept', async (t) => {
  const tar = buildTar([
    { path: 'bin', type: 'dir' },
    { path: 'bin/busybox', mode: 0o755, content: Buffer.alloc(5000, 1) },
    { path: 'bin/sh', type: 'symlink', target: '/bin/busybox' },
    { path: 'etc/passwd', mode: 0o644, content: 'root:x:0:0::/root:/bin/sh\n' },
    script('docker-entrypoint.sh', '/bin/bash -e'),
    { path: 'usr/bin/env', type: 'hardlink', target: 'bin/busybox', mode: 0o755 },
    { path: 'dev/fifo', type: 'fifo', mode: 0o600 },
  ]);
  const idx = indexTarBuffer(tar);
  t.same(idx.entries.get('bin'), { type: 'dir', mode: 0o755 });
  t.same(idx.entries.get('bin/busybox'), { type: 'file', mode: 0o755 });
  t.same(idx.entries.get('bin/sh'), { type: 'symlink', mode: 0o777, target: '/bin/busybox' });
  t.same(idx.entries.get('etc/passwd'), { type: 'file', mode: 0o644 }, 'no shebang read from a non-executable');
  t.same(idx.entries.get('docker-entrypoint.sh'), { type: 'file', mode: 0o755, shebang: '/bin/bash -e' });
  t.same(idx.entries.get('usr/bin/env'), { type: 'file', mode: 0o755 }, 'a hard link takes its target type');
  const upper = indexTarBuffer(buildTar([{ path: 'usr/bin/top', type: 'hardlink', target: 'bin/busybox', mode: 0o755 }]));
  t.same(upper.entries.get('usr/bin/top'), { type: 'file', mode: 0o755, hardlinkTo: 'bin/busybox' }, 'a target in a lower layer: left to the merged view');
  t.equal(idx.entries.get('dev/fifo')?.type, 'other');
  t.ok(idx.bytes > 0 && idx.bytes < 10_000, `memory estimate ${idx.bytes} is small, whatever the file sizes`);
});

t.test('whiteouts and opaque markers are recorded apart from the entries', async (t) => {
  const idx = indexTarBuffer(buildTar([whiteout('usr/bin/bash'), opaque('var/cache'), whiteout('toplevel'), { path: 'usr/bin/ash', content: 'x' }]));
  t.same([...idx.whiteouts].sort(), ['toplevel', 'usr/bin/bash']);
  t.same([...idx.opaque], ['var/cache']);
  t.same([...idx.entries.keys()], ['usr/bin/ash']);
});

t.test('long names: PAX records and GNU long-name headers', async (t) => {
  const deep = `${'d'.repeat(80)}/${'e'.repeat(80)}/bin/tool`;
  const target = `/${'t'.repeat(120)}`;
  for (const longNames of ['pax', 'gnu'] as const) {
    const idx = indexTarBuffer(buildTar([binary(deep), { path: 'link', type: 'symlink', target }], { longNames }));
    t.ok(idx.entries.has(deep), `${longNames}: long path`);
    t.equal(idx.entries.get('link')?.target, target, `${longNames}: long link target`);
  }
});

t.test('chunk boundaries anywhere give the same index', async (t) => {
  const tar = buildTar([binary('a/b/c'), script('run.sh', '/bin/sh'), { path: 'x', type: 'symlink', target: 'a/b/c' }, { path: `${'p'.repeat(150)}/y`, content: 'z'.repeat(700) }]);
  const whole = indexTarBuffer(tar);
  for (const size of [1, 7, 511, 512, 513, 1000]) {
    const ix = new TarIndexer();
    for (let i = 0; i < tar.length; i += size) ix.write(tar.subarray(i, i + size));
    t.same([...ix.end().entries], [...whole.entries], `chunks of ${size}`);
  }
});

t.test('a layer listing more files than the memory bound is refused', async (t) => {
  const many = buildTar(Array.from({ length: 200 }, (_, i) => binary(`usr/share/f${i}`)));
  const ix = new TarIndexer({ maxIndexBytes: 10_000 });
  t.throws(() => ix.write(many), { code: 'TAR_FORMAT', message: /too many files/ });
  t.equal(new TarIndexer({ maxIndexBytes: 1_000_000 }).write(many), undefined);
});

t.test('an archive without the end marker is accepted; a truncated or foreign one is refused', async (t) => {
  t.ok(indexTarBuffer(buildTar([binary('a')], { noEndMarker: true })).entries.has('a'));
  const tar = buildTar([{ path: 'big', content: Buffer.alloc(3000) }]);
  t.throws(() => indexTarBuffer(tar.subarray(0, 1500)), { code: 'TAR_FORMAT', message: 'truncated tar archive' });
  t.throws(() => indexTarBuffer(Buffer.from('{"this":"is json, not a tar archive"}'.padEnd(1024, ' '))), /bad header checksum/);
  t.throws(() => indexTarBuffer(Buffer.alloc(0)), /empty/);
});

t.test('archives written by GNU tar (gnu and posix formats) read the same', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-tar-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, 'root');
  const long = `${'l'.repeat(90)}/${'m'.repeat(90)}`;
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  mkdirSync(join(root, long), { recursive: true });
  writeFileSync(join(root, 'usr/bin/app'), '#!/usr/bin/env python3\nprint(1)\n');
  chmodSync(join(root, 'usr/bin/app'), 0o750);
  writeFileSync(join(root, 'usr/bin/data'), 'plain');
  chmodSync(join(root, 'usr/bin/data'), 0o640);
  writeFileSync(join(root, long, 'file'), 'x');
  symlinkSync('usr/bin', join(root, 'bin'));
  linkSync(join(root, 'usr/bin/app'), join(root, 'usr/bin/app2'));
  for (const format of ['gnu', 'posix', 'ustar']) {
    if (format === 'ustar') continue; // ustar cannot hold the 181-byte name
    const file = join(dir, `${format}.tar`);
    execFileSync('tar', ['--format', format, '-C', root, '-cf', file, '.']);
    const idx = indexTarBuffer(execFileSync('cat', [file], { maxBuffer: 1 << 24 }));
    t.same(idx.entries.get('usr/bin/app'), { type: 'file', mode: 0o750, shebang: '/usr/bin/env python3' }, `${format}: script`);
    t.same(idx.entries.get('usr/bin/data'), { type: 'file', mode: 0o640 }, `${format}: data`);
    t.same(idx.entries.get('bin'), { type: 'symlink', mode: 0o777, target: 'usr/bin' }, `${format}: symlink`);
    t.equal(idx.entries.get('usr/bin/app2')?.type, 'file', `${format}: hard link`);
    t.equal(idx.entries.get(`${long}/file`)?.type, 'file', `${format}: long name`);
    t.equal(idx.entries.get('usr')?.type, 'dir', `${format}: directory`);
  }
});
