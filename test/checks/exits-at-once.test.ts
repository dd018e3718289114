import t from 'tap';
import { exitsAtOnce } from '../../src/checks/exits-at-once.js';
import { inputFor } from '../helpers/workloads.js';
import { blindInspector, expectOne, imageWorld, podInput } from '../helpers/image-world.js';

const world = await imageWorld();
t.teardown(() => world.close());
const img = world.images.ref;
const run = (c: Parameters<typeof podInput>[0], kind = 'Deployment', extra = {}, ports = world.ports()) => exitsAtOnce.run(podInput(c, extra, kind), ports);

t.test('a Deployment whose process ends at once: CrashLoopBackOff, denied', async (t) => {
  for (const command of [['echo', 'hello'], ['true'], ['date'], ['env'], ['sleep', '5'], ['/bin/sh', '-c', 'echo done; exit 0']]) {
    const f = await run({ image: img('alpine:3'), command });
    expectOne(t, f, 'certain', /ends (at once|after about 5 s)/, "a Deployment's pods always restart", /(Completed, then CrashLoopBackOff|back-off of 10 s doubling up to 5 min)/, 'fix: run a long-lived process');
  }
});

t.test('StatefulSets, DaemonSets and bare pods (restartPolicy Always by default) too', async (t) => {
  expectOne(t, await run({ image: img('alpine:3'), command: ['echo', 'x'] }, 'StatefulSet'), 'certain');
  expectOne(t, await run({ image: img('alpine:3'), command: ['echo', 'x'] }, 'DaemonSet'), 'certain');
  expectOne(t, await run({ image: img('alpine:3'), command: ['echo', 'x'] }, 'Pod'), 'certain', 'restartPolicy is Always');
});

t.test("the image's own CMD: a shell with no script and no stdin (busybox, alpine) ends at once", async (t) => {
  const f = await run({ image: img('alpine:3') });
  expectOne(t, f, 'certain', '["/bin/sh"], a shell with no script and no stdin,');
  t.same(await run({ image: img('alpine:3'), stdin: true, tty: true }), [], 'kubectl run -it keeps it open');
});

t.test('likely cases are warnings', async (t) => {
  expectOne(t, await run({ image: img('alpine:3'), command: ['sleep', '300'] }), 'likely');
  expectOne(t, await run({ image: img('alpine:3'), command: ['sh', '-c', 'ls $DIR'] }), 'likely');
});

t.test('passing: long-running processes', async (t) => {
  t.same(await run({ image: img('multi:1') }), [], 'CMD sleep infinity');
  t.same(await run({ image: img('alpine:3'), command: ['sh', '-c', 'while true; do date; sleep 10; done'] }), []);
  t.same(await run({ image: img('distroless:1') }), [], 'a server binary');
});

t.test('exempt: Jobs, init containers, restartPolicy Never, and OnFailure with status 0', async (t) => {
  t.same(await run({ image: img('alpine:3'), command: ['echo', 'x'] }, 'Job'), []);
  t.same(await run({ image: img('alpine:3'), command: ['echo', 'x'] }, 'Pod', { restartPolicy: 'Never' }), []);
  t.same(await run({ image: img('alpine:3'), command: ['echo', 'x'] }, 'Pod', { restartPolicy: 'OnFailure' }), []);
  expectOne(t, await run({ image: img('alpine:3'), command: ['false'] }, 'Pod', { restartPolicy: 'OnFailure' }), 'certain', 'restartPolicy is OnFailure');
  const init = inputFor('Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { initContainers: [{ name: 'init', image: img('alpine:3'), command: ['echo', 'ready'] }], containers: [{ name: 'app', image: img('multi:1') }] } });
  t.same(await exitsAtOnce.run(init, world.ports()), [], 'init containers are meant to end');
});

t.test('left to other checks: builtins (command-sanity), failing scripts (shell-script)', async (t) => {
  t.same(await run({ image: img('alpine:3'), command: ['exit', '0'] }), []);
  t.same(await run({ image: img('alpine:3'), command: ['sh', '-c', 'exit 1'] }), []);
});

t.test('cannot tell: the image CMD unknown (registry down) -> silent', async (t) => {
  t.same(await run({ image: img('alpine:3') }, 'Deployment', {}, world.ports({ inspector: blindInspector() })), []);
  // With command set the image is not needed.
  expectOne(t, await run({ image: img('alpine:3'), command: ['true'] }, 'Deployment', {}, world.ports({ inspector: blindInspector() })), 'certain');
});
