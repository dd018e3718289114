import t from 'tap';
import { LayeredFileSystem } from '../../src/inspect/file-tree.js';
import { indexTarBuffer } from '../../src/inspect/tar-index.js';
import { binary, buildTar, opaque, script, whiteout, type TarEntry } from '../helpers/tar-builder.js';

const fs = (...layers: TarEntry[][]) => new LayeredFileSystem(layers.map((l) => indexTarBuffer(buildTar(l))));

t.test('an upper layer replaces a lower entry', async (t) => {
  const f = fs([binary('app', 0o644)], [binary('app', 0o755)]);
  t.same(f.lstat('/app'), { type: 'file', mode: 0o755 });
});

t.test('a whiteout deletes a lower file, and only lower ones', async (t) => {
  const f = fs([binary('usr/bin/bash'), binary('usr/bin/ls')], [whiteout('usr/bin/bash')]);
  t.equal(f.lstat('/usr/bin/bash'), undefined);
  t.ok(f.lstat('/usr/bin/ls'));
  // A whiteout and a new file of the same name in one layer: the new file stays (layer.md).
  const g = fs([binary('tool', 0o700)], [whiteout('tool'), binary('tool', 0o755)]);
  t.same(g.lstat('/tool'), { type: 'file', mode: 0o755 });
  // Re-added in a later layer.
  const h = fs([binary('tool')], [whiteout('tool')], [binary('tool', 0o750)]);
  t.same(h.lstat('/tool'), { type: 'file', mode: 0o750 });
});

t.test('a whiteout of a directory deletes everything under it', async (t) => {
  const f = fs([{ path: 'opt/app', type: 'dir' }, binary('opt/app/bin/run')], [whiteout('opt/app')]);
  t.equal(f.lstat('/opt/app/bin/run'), undefined);
  t.equal(f.lstat('/opt/app'), undefined);
});

t.test('an opaque directory hides the lower content but keeps its own', async (t) => {
  const f = fs([binary('etc/app/old.conf'), binary('etc/app/keep')], [{ path: 'etc/app', type: 'dir' }, opaque('etc/app'), binary('etc/app/new.conf')]);
  t.equal(f.lstat('/etc/app/old.conf'), undefined);
  t.equal(f.lstat('/etc/app/keep'), undefined);
  t.ok(f.lstat('/etc/app/new.conf'));
  t.equal(f.lstat('/etc/app')?.type, 'dir');
});

t.test('a file replacing a directory hides its children', async (t) => {
  const f = fs([binary('srv/www/index')], [binary('srv/www')]);
  t.equal(f.lstat('/srv/www/index'), undefined);
  t.equal(f.lstat('/srv/www')?.type, 'file');
});

t.test('symlinks: absolute, relative, through parents, chains, dangling and loops', async (t) => {
  const f = fs(
    [
      // merged /usr (Debian 12, Fedora): /bin -> usr/bin
      { path: 'bin', type: 'symlink', target: 'usr/bin' },
      binary('usr/bin/busybox'),
      { path: 'usr/bin/sh', type: 'symlink', target: 'busybox' },
      { path: 'usr/local/bin/python', type: 'symlink', target: '../../bin/python3' },
      { path: 'usr/bin/python3', type: 'symlink', target: '/usr/bin/python3.12' },
      binary('usr/bin/python3.12'),
      { path: 'escape', type: 'symlink', target: '../../../../usr/bin/busybox' },
      { path: 'dangling', type: 'symlink', target: '/nope' },
      { path: 'loop1', type: 'symlink', target: 'loop2' },
      { path: 'loop2', type: 'symlink', target: 'loop1' },
    ],
  );
  t.same(f.stat('/bin/sh'), { path: '/usr/bin/busybox', entry: { type: 'file', mode: 0o755 } });
  t.equal(f.lstat('/bin/sh')?.type, 'symlink', 'lstat does not follow the last link');
  t.equal(f.stat('/usr/local/bin/python')?.path, '/usr/bin/python3.12');
  t.equal(f.stat('/escape')?.path, '/usr/bin/busybox', '.. stops at the image root');
  t.equal(f.stat('/dangling'), undefined);
  t.equal(f.stat('/loop1'), undefined);
  t.equal(f.stat('/usr/bin/busybox/x'), undefined, 'a file is not a directory');
  t.equal(f.stat('/')?.entry.type, 'dir');
});

t.test('directories implied by deeper entries are walkable', async (t) => {
  const f = fs([binary('a/b/c/tool')]);
  t.ok(f.stat('/a/b/c/tool'));
  t.ok(f.stat('/a/./b/../b/c/tool'));
});

t.test('a hard link to a lower layer is the lower file: its #! line is seen', async (t) => {
  const lower = [script('usr/bin/run.sh', '/bin/bash -e')];
  const f = fs(lower, [{ path: 'usr/local/bin/run', type: 'hardlink', target: 'usr/bin/run.sh', mode: 0o755 }]);
  t.same(f.stat('/usr/local/bin/run')?.entry, { type: 'file', mode: 0o755, shebang: '/bin/bash -e' });
  // The link's own layer is not looked in for its target (it would have been resolved when indexed).
  const chain = fs(lower, [{ path: 'a', type: 'hardlink', target: 'usr/bin/run.sh', mode: 0o755 }], [{ path: 'b', type: 'hardlink', target: 'a', mode: 0o700 }]);
  t.same(chain.stat('/b')?.entry, { type: 'file', mode: 0o700, shebang: '/bin/bash -e' }, 'through a link of a middle layer');
  // Cannot tell: the target is not in the layers below (a broken archive): a plain file, no #! claimed.
  const broken = fs([binary('x')], [{ path: 'y', type: 'hardlink', target: 'nowhere', mode: 0o755 }]);
  t.same(broken.stat('/y')?.entry, { type: 'file', mode: 0o755, hardlinkTo: 'nowhere' });
});
