import t from 'tap';
import { podArchitectures } from '../../src/checks/image-context.js';
import { platform } from '../../src/checks/platform.js';
import { compatibleArchitectures, pickManifest } from '../../src/inspect/platform.js';
import { blindInspector, expectOne, imageWorld, nodes, podInput } from '../helpers/image-world.js';

t.test('containerd preference: amd64 runs 386, arm64 runs arm; attestations are never picked', async (t) => {
  t.same(compatibleArchitectures('amd64'), ['amd64', '386']);
  t.same(compatibleArchitectures('aarch64'), ['arm64', 'arm']);
  const entries = [
    { digest: 'att', platform: { os: 'unknown', architecture: 'unknown' } },
    { digest: '386', platform: { os: 'linux', architecture: '386' } },
    { digest: 'amd', platform: { os: 'linux', architecture: 'amd64' } },
    { digest: 'win', platform: { os: 'windows', architecture: 'arm64' } },
  ];
  t.equal(pickManifest(entries, 'amd64')?.digest, 'amd');
  t.equal(pickManifest(entries.filter((e) => e.digest !== 'amd'), 'amd64')?.digest, '386');
  t.equal(pickManifest(entries, 'arm64'), undefined, 'windows images do not run on linux nodes');
});

const affinity = (operator: string, values: string[]) => ({
  affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/arch', operator, values }] }] } } },
});

t.test('where the pod runs: its selector, its required affinity, else the cluster, else config', async (t) => {
  const ports = { images: undefined as never, nodeArchitectures: nodes(['amd64', 'arm64']) };
  t.same(await podArchitectures(podInput({}, { nodeSelector: { 'kubernetes.io/arch': 'arm64' } }), ports), { architectures: ['arm64'], source: 'pod' });
  t.same(await podArchitectures(podInput({}, affinity('In', ['arm64', 's390x'])), ports), { architectures: ['arm64', 's390x'], source: 'pod' });
  t.same((await podArchitectures(podInput({}, affinity('NotIn', ['amd64'])), ports)).architectures.includes('amd64'), false);
  t.same(await podArchitectures(podInput({}), ports), { architectures: ['amd64', 'arm64'], source: 'cluster' });
  t.same(await podArchitectures(podInput({}), { images: undefined as never }), { architectures: ['amd64'], source: 'config' });
});

const world = await imageWorld();
t.teardown(() => world.close());
const img = world.images.ref;
const run = (c: Parameters<typeof podInput>[0], pod: Record<string, unknown> = {}, ports = world.ports()) => platform.run(podInput(c, pod, 'Deployment'), ports);

t.test('an index without the nodes\' architecture: denied with containerd\'s words', async (t) => {
  const f = await run({ image: img('amd64only:1') }, { nodeSelector: { 'kubernetes.io/arch': 'arm64' } });
  expectOne(t, f, 'certain', 'has no build for linux/arm64 (it offers linux/amd64)', 'no match for platform in manifest: not found', 'ErrImagePull, then ImagePullBackOff');
  const cluster = await run({ image: img('multi:1') }, {}, world.ports({ nodeArchitectures: nodes(['s390x']) }));
  expectOne(t, cluster, 'certain', "the cluster's nodes are linux/s390x", 'it offers linux/amd64, linux/arm64/v8');
});

t.test('a single-platform arm64 image on amd64 nodes: exec format error', async (t) => {
  const f = await run({ image: img('arm64only:1') });
  expectOne(t, f, 'certain', 'is built for linux/arm64/v8 only', '"exec format error" (Error, then CrashLoopBackOff)', 'nodeSelector kubernetes.io/arch: arm64');
});

t.test('a mixed cluster where only some nodes fit: a warning', async (t) => {
  const f = await run({ image: img('amd64only:1') }, {}, world.ports({ nodeArchitectures: nodes(['amd64', 'arm64']) }));
  expectOne(t, f, 'likely', 'has no linux/arm64 build (it offers linux/amd64): on such nodes the pull fails', 'nodeSelector kubernetes.io/arch: amd64');
});

t.test('passing: the index has the architecture, or the pod is pinned to one it has', async (t) => {
  t.same(await run({ image: img('multi:1') }, {}, world.ports({ nodeArchitectures: nodes(['amd64', 'arm64']) })), []);
  t.same(await run({ image: img('arm64only:1') }, { nodeSelector: { 'kubernetes.io/arch': 'arm64' } }), []);
  t.same(await run({ image: img('amd64only:1') }, affinity('In', ['amd64'])), []);
});

t.test('cannot tell: registry down, or the pod runs on Windows nodes', async (t) => {
  t.same(await run({ image: img('amd64only:1') }, { nodeSelector: { 'kubernetes.io/arch': 'arm64' } }, world.ports({ inspector: blindInspector() })), []);
  t.same(await run({ image: img('amd64only:1') }, { nodeSelector: { 'kubernetes.io/os': 'windows' } }), []);
});

t.test('nodes known only from inspect.nodeArchitectures (maybe an unset default): a warning, not a deny', async (t) => {
  const fromConfig = async () => ({ architectures: ['amd64'], source: 'config' as const });
  const f = await run({ image: img('arm64only:1') }, {}, world.ports({ nodeArchitectures: fromConfig }));
  expectOne(t, f, 'likely', 'is built for linux/arm64/v8 only', '(inspect.nodeArchitectures)');
});
