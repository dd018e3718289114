import t from 'tap';
import { lookupExecutable } from '../../src/checks/exec-lookup.js';
import { executablePresent } from '../../src/checks/executable-present.js';
import { LayeredFileSystem } from '../../src/inspect/file-tree.js';
import { indexTarBuffer } from '../../src/inspect/tar-index.js';
import { RegistryImageInspector } from '../../src/inspect/image-inspector.js';
import { pushBigImage } from '../helpers/image-fixtures.js';
import { blindInspector, configOnly, expectOne, imageWorld, podInput } from '../helpers/image-world.js';
import { binary, buildTar, script } from '../helpers/tar-builder.js';

t.test('lookup follows Go exec.LookPath and runc exec', async (t) => {
  const fs = new LayeredFileSystem([
    indexTarBuffer(
      buildTar([
        { path: 'bin', type: 'symlink', target: 'usr/bin' },
        binary('usr/bin/tool'),
        { path: 'usr/local/bin/tool', mode: 0o644, content: 'not executable, skipped by the PATH search' },
        { path: 'usr/bin/dir', type: 'dir' },
        { path: 'app/data.txt', mode: 0o644, content: 'x' },
        script('app/run.sh', '/bin/bash'),
        script('app/ok.sh', '/bin/tool'),
        binary('app/rel'),
      ]),
    ),
  ]);
  const PATH = '/usr/local/bin:/usr/bin:/bin';
  t.same(lookupExecutable(fs, 'tool', PATH, ''), { status: 'ok', path: '/usr/bin/tool', entry: { type: 'file', mode: 0o755 } }, 'a non-executable earlier in PATH is skipped');
  t.same(lookupExecutable(fs, 'bash', PATH, ''), { status: 'not-found', error: 'exec: "bash": executable file not found in $PATH' });
  t.same(lookupExecutable(fs, '/bin/tool', PATH, '').status, 'ok', 'through the /bin symlink');
  t.same(lookupExecutable(fs, '/nope', PATH, ''), { status: 'missing', error: 'exec: "/nope": stat /nope: no such file or directory' });
  t.same(lookupExecutable(fs, '/usr/bin/dir', PATH, ''), { status: 'is-dir', error: 'exec: "/usr/bin/dir": is a directory' });
  t.same(lookupExecutable(fs, '/app/data.txt', PATH, ''), { status: 'not-executable', error: 'exec: "/app/data.txt": permission denied' });
  t.same(lookupExecutable(fs, '/app/run.sh', PATH, ''), { status: 'bad-interpreter', path: '/app/run.sh', interpreter: '/bin/bash', error: 'exec /app/run.sh: no such file or directory' });
  t.equal(lookupExecutable(fs, '/app/ok.sh', PATH, '').status, 'ok', 'its interpreter exists');
  t.equal(lookupExecutable(fs, './rel', PATH, '/app').status, 'ok', 'relative to WorkingDir');
  t.equal(lookupExecutable(fs, 'rel', '', '/app').status, 'ok', 'an empty PATH entry is the working directory');
});

const world = await imageWorld();
t.teardown(() => world.close());
const img = world.images.ref;
const run = (c: Parameters<typeof podInput>[0], extra = {}, kind = 'Pod', ports = world.ports()) => executablePresent.run(podInput(c, extra, kind), ports);

t.test('sh -c on a distroless image: denied with the runtime words', async (t) => {
  const f = await run({ image: img('distroless:1'), command: ['sh', '-c', 'echo hi; sleep infinity'] });
  expectOne(t, f, 'certain', 'command[0] "sh" is not in the image', 'exec: "sh": executable file not found in $PATH', 'StartError, then CrashLoopBackOff');
});

t.test('bash on an alpine-like image (sh -> busybox, no bash): denied, with a hint', async (t) => {
  const f = await run({ image: img('alpine:3'), command: ['bash', '-c', 'sleep infinity'] }, {}, 'Deployment');
  expectOne(t, f, 'certain', 'exec: "bash": executable file not found in $PATH', '(e.g. sh)');
});

t.test('the image CMD is checked too, and args alone on an image without ENTRYPOINT', async (t) => {
  // layered:1 runs CMD ["bash"]: bash is there. Its args become the program when they replace CMD.
  t.same(await run({ image: img('layered:1') }), []);
  const f = await run({ image: img('layered:1'), args: ['curl', 'http://x'] });
  expectOne(t, f, 'certain', /args\[0\] \(the image has no ENTRYPOINT, so args\[0\] is run as the program\) "curl"/, 'exec: "curl"');
});

t.test('a whited-out program is missing; merged /usr symlinks are followed', async (t) => {
  expectOne(t, await run({ image: img('layered:1'), command: ['curl', '-s', 'x'] }), 'certain', 'exec: "curl": executable file not found');
  t.same(await run({ image: img('layered:1'), command: ['/bin/bash', '-c', 'sleep infinity'] }), []);
  t.same(await run({ image: img('layered:1'), command: ['app'] }), [], '/usr/local/bin from the upper layer');
});

t.test('absolute paths, non-executables and scripts with a missing interpreter', async (t) => {
  expectOne(t, await run({ image: img('alpine:3'), command: ['/app/server'] }), 'certain', 'exec: "/app/server": stat /app/server: no such file or directory');
  expectOne(t, await run({ image: img('alpine:3'), command: ['/usr/local/bin/notexec.sh'] }), 'certain', 'exec: "/usr/local/bin/notexec.sh": permission denied');
  expectOne(t, await run({ image: img('alpine:3'), command: ['bash-entrypoint.sh'] }), 'certain', 'is a script for "/bin/bash", which the image does not have', 'exec /usr/local/bin/bash-entrypoint.sh: no such file or directory');
  t.same(await run({ image: img('alpine:3'), command: ['sh-entrypoint.sh', 'sleep', 'infinity'] }), []);
});

t.test('a PATH set in the container env is the one searched', async (t) => {
  expectOne(t, await run({ image: img('alpine:3'), command: ['busybox'], env: [{ name: 'PATH', value: '/usr/bin' }] }), 'certain', 'exec: "busybox"');
  t.same(await run({ image: img('alpine:3'), command: ['busybox'] }), []);
});

t.test('a relative command is resolved in the container workingDir, which overrides the image WORKDIR', async (t) => {
  t.same(await run({ image: img('alpine:3'), command: ['./busybox', 'sleep', '1d'], workingDir: '/bin' }), [], './busybox in workingDir /bin');
  expectOne(t, await run({ image: img('alpine:3'), command: ['./busybox', 'sleep', '1d'], workingDir: '/tmp' }), 'certain', '"./busybox"', 'no such file or directory');
  expectOne(t, await run({ image: img('alpine:3'), command: ['./busybox', 'sleep', '1d'] }), 'certain', '"./busybox"');
});

t.test('passing: the program is there (symlinked busybox applets, distroless entrypoint)', async (t) => {
  t.same(await run({ image: img('alpine:3'), command: ['sh', '-c', 'sleep infinity'] }), []);
  t.same(await run({ image: img('distroless:1') }), []);
  t.same(await run({ image: img('multi:1') }, { nodeSelector: { 'kubernetes.io/arch': 'arm64' } }), [], 'the arm64 image of the index');
});

t.test('what command-sanity or the kubelet decide is left to them', async (t) => {
  t.same(await run({ image: img('distroless:1'), command: ['exit', '1'] }), [], 'a builtin: command-sanity');
  t.same(await run({ image: img('distroless:1'), command: ['$(APP)'] }), [], '$(VAR) is expanded by the kubelet');
});

t.test('cannot tell: files unknown (too big, zstd on old Node) -> "could not verify" warning; config unknown -> silent', async (t) => {
  const f = await run({ image: img('distroless:1'), command: ['sh'] }, {}, 'Pod', world.ports({ inspector: configOnly(world.inspector) }));
  expectOne(t, f, 'unverified', 'could not verify that "sh" exists in image', 'more than inspect.maxBytesPerImage', 'allowed unchecked');
  t.same(await run({ image: img('distroless:1'), command: ['sh'] }, {}, 'Pod', world.ports({ inspector: blindInspector() })), []);
});

t.test('a layer larger than the byte cap: allowed with a warning, nothing downloaded', async (t) => {
  const big = await pushBigImage(world.reg, 'big:1', 300_000);
  const capped = new RegistryImageInspector({ registry: world.client, maxBytesPerImage: 100_000, cacheBytes: 1_000_000 });
  const f = await executablePresent.run(podInput({ image: big, command: ['sh'] }), world.ports({ inspector: capped }));
  expectOne(t, f, 'unverified', 'could not verify that "sh" exists in image', /its layers weigh 0\.3 MB, more than inspect\.maxBytesPerImage \(0\.1 MB\)/);
  t.equal(capped.stats.layersIndexed, 0);
});

t.test('an index not ready by the deadline is "could not verify", finished in the background, ready for the next review', async (t) => {
  const { runChecks } = await import('../../src/checks/run-checks.js');
  const fresh = new RegistryImageInspector({ registry: world.client, maxBytesPerImage: 50_000_000, cacheBytes: 16 * 1024 * 1024 });
  const ports = world.ports({ inspector: fresh });
  const input = podInput({ image: img('layered:1'), command: ['curl', 'x'] }, {}, 'Deployment');
  const first = await runChecks(input.workload, { checks: [executablePresent], ports, signal: AbortSignal.abort() });
  t.equal(first.timedOut, 1);
  t.match(first.findings[0]?.message, /could not verify image ".*layered:1" in time \(executable-present\)/);
  // The lookup goes on after the deadline (the review answered); wait for it the way a later review would.
  t.equal((await fresh.files(input.image!, 'amd64')).status, 'found');
  t.equal(fresh.stats.layersIndexed, 2);
  const next = await runChecks(input.workload, { checks: [executablePresent], ports, signal: AbortSignal.timeout(5000) });
  t.equal(next.timedOut, 0);
  t.match(next.findings[0], { certainty: 'certain', message: /exec: "curl": executable file not found in \$PATH/ });
  t.equal(fresh.stats.layersIndexed, 2, 'nothing downloaded again');
});
