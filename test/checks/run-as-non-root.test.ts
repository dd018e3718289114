import t from 'tap';
import { imageUser, runAsNonRoot } from '../../src/checks/run-as-non-root.js';
import { blindInspector, expectOne, imageWorld, podInput } from '../helpers/image-world.js';

t.test('the image user as containerd reads it (getUserFromImage)', async (t) => {
  t.same(imageUser(''), { root: true });
  t.same(imageUser('0'), { uid: 0 });
  t.same(imageUser('0:0'), { uid: 0 });
  t.same(imageUser('1000:1000'), { uid: 1000 });
  t.same(imageUser('nginx'), { name: 'nginx' });
  t.same(imageUser('root'), { name: 'root' });
  t.same(imageUser('app:0'), { name: 'app' });
});

const world = await imageWorld();
t.teardown(() => world.close());
const img = world.images.ref;
const nonRoot = { securityContext: { runAsNonRoot: true } };
const run = (c: Parameters<typeof podInput>[0], pod: Record<string, unknown> = {}, kind = 'Pod', ports = world.ports()) => runAsNonRoot.run(podInput(c, pod, kind), ports);

t.test('runAsNonRoot on an image without USER: denied with the kubelet words', async (t) => {
  const f = await run({ image: img('alpine:3') }, nonRoot);
  expectOne(t, f, 'certain', 'container has runAsNonRoot and image will run as root (pod: "demo_default(…)", container: app)', 'sets no USER', 'CreateContainerConfigError', 'fix: set securityContext.runAsUser');
});

t.test('an image USER 0:0 and the container-level setting are read too', async (t) => {
  const f = await run({ image: img('rootuser:1'), securityContext: { runAsNonRoot: true } }, {}, 'Deployment');
  expectOne(t, f, 'certain', 'image will run as root (pod: "demo-…_default(…)", container: app)', 'runs as USER "0:0"');
});

t.test('a named image user cannot be verified: denied', async (t) => {
  const f = await run({ image: img('named:1') }, nonRoot);
  expectOne(t, f, 'certain', 'the image\'s USER "nginx" is not numeric and runAsNonRoot is true: the kubelet refuses with "container has runAsNonRoot and image has non-numeric user (nginx), cannot verify user is non-root"', 'kubelet: "… (pod: "demo_default(…)", container: app)"');
});

t.test('runAsUser 0 with runAsNonRoot: denied without looking at the image', async (t) => {
  const f = await run({ image: img('nonroot:1') }, { securityContext: { runAsNonRoot: true, runAsUser: 0 } }, 'Pod', world.ports({ inspector: blindInspector() }));
  expectOne(t, f, 'certain', "container's runAsUser breaks non-root policy");
});

t.test('passing: numeric non-root USER, a non-zero runAsUser, runAsNonRoot false or unset', async (t) => {
  t.same(await run({ image: img('nonroot:1') }, nonRoot), []);
  t.same(await run({ image: img('distroless:1') }, nonRoot), [], 'USER 65532');
  t.same(await run({ image: img('alpine:3') }, { securityContext: { runAsNonRoot: true, runAsUser: 1000 } }), []);
  t.same(await run({ image: img('named:1'), securityContext: { runAsUser: 101 } }, nonRoot), [], 'the container runAsUser wins');
  t.same(await run({ image: img('alpine:3'), securityContext: { runAsNonRoot: false } }, nonRoot), [], 'the container overrides the pod');
  t.same(await run({ image: img('alpine:3') }), []);
});

t.test('cannot tell (the image config cannot be read): silent', async (t) => {
  t.same(await run({ image: img('alpine:3') }, nonRoot, 'Pod', world.ports({ inspector: blindInspector() })), []);
});
