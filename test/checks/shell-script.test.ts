import t from 'tap';
import { shellScript } from '../../src/checks/shell-script.js';
import { blindInspector, expectOne, imageWorld, podInput } from '../helpers/image-world.js';

const world = await imageWorld();
t.teardown(() => world.close());
const img = world.images.ref;
const run = (c: Parameters<typeof podInput>[0], kind = 'Pod', ports = world.ports()) => shellScript.run(podInput(c, {}, kind), ports);

t.test("the seed's exit 1 in a shell: every path fails at once, denied", async (t) => {
  const f = await run({ image: img('alpine:3'), command: ['sh', '-c', 'echo starting; exit 1'] }, 'Deployment');
  expectOne(t, f, 'certain', 'always ends with "exit 1"', 'Error, then CrashLoopBackOff');
  const job = await run({ image: img('alpine:3'), command: ['sh', '-c', 'exit 1'] }, 'Job');
  expectOne(t, job, 'certain', 'the pod ends Failed (Error); the Job retries with new pods until BackoffLimitExceeded (backoffLimit 6)');
  const branches = await run({ image: img('alpine:3'), command: ['/bin/sh', '-ec', 'if [ -f /x ]; then exit 2; else false; fi'] });
  expectOne(t, branches, 'certain', 'always ends with');
});

t.test('a syntax error: denied with the parser message', async (t) => {
  const f = await run({ image: img('alpine:3'), command: ['sh', '-c', 'if [ -f /x ]; then echo yes'] });
  expectOne(t, f, 'certain', 'has a syntax error, 1:1: if statement must end with "fi"', 'status 2');
  const bash = await run({ image: img('layered:1'), command: ['bash', '-c', "echo 'unclosed"] });
  expectOne(t, bash, 'certain', 'reached EOF without closing quote');
});

t.test('bash-only syntax run by sh: a warning', async (t) => {
  const arrays = await run({ image: img('layered:1'), command: ['/usr/bin/dash', '-c', 'a=(1 2); echo ${a[0]}; sleep infinity'] });
  expectOne(t, arrays, 'likely', 'uses bash-only syntax', 'arrays are a bash');
  const brackets = await run({ image: img('layered:1'), command: ['sh', '-c', '[[ -f /x ]] && source /env; exec app'] });
  expectOne(t, brackets, 'likely', 'uses "[[", "source", which POSIX sh does not have', '"[[: not found"');
});

t.test('the same bash syntax run by bash passes', async (t) => {
  t.same(await run({ image: img('layered:1'), command: ['bash', '-c', '[[ -f /x ]] && source /env; exec app'] }), []);
});

t.test('passing scripts: long-running, or failing only sometimes', async (t) => {
  t.same(await run({ image: img('alpine:3'), command: ['sh', '-c', 'echo hi; exec sleep infinity'] }), []);
  t.same(await run({ image: img('alpine:3'), command: ['sh', '-c', 'test -f /cfg || exit 1; exec app'] }), []);
  t.same(await run({ image: img('alpine:3'), command: ['sh', '-c', './server; exit 1'] }), [], 'runs the server first: a deliberate "fail when it ends"');
  t.same(await run({ image: img('alpine:3'), command: ['sleep', 'infinity'] }), [], 'not a shell');
});

t.test('scripts in the image CMD are read too', async (t) => {
  // multi:1 runs CMD ["sleep", "infinity"]; with args replacing CMD and no ENTRYPOINT, args are the argv.
  const f = await run({ image: img('multi:1'), args: ['sh', '-c', 'exit 3'] });
  expectOne(t, f, 'certain', 'always ends with "exit 3"');
});

t.test('cannot tell: the argv needs the image and the registry cannot say; a non-literal exit status', async (t) => {
  t.same(await run({ image: img('multi:1'), args: ['sh', '-c', 'exit 3'] }, 'Pod', world.ports({ inspector: blindInspector() })), []);
  t.same(await run({ image: img('alpine:3'), command: ['sh', '-c', 'exit $CODE'] }), []);
});

t.test('set -o pipefail under dash: a warning only where the image shows dash', async (t) => {
  const dash = await run({ image: img('layered:1'), command: ['sh', '-c', 'set -euo pipefail; ls | wc -l; exec sleep infinity'] });
  expectOne(t, dash, 'likely', 'sets -o pipefail', 'sh is dash', '"set: Illegal option -o pipefail"', 'run it with bash');
  const split = await run({ image: img('layered:1'), command: ['/bin/sh', '-c', 'set -e -o pipefail\nexec app'] }, 'Deployment');
  expectOne(t, split, 'likely', 'sets -o pipefail');
  t.same(await run({ image: img('layered:1'), command: ['bash', '-c', 'set -euo pipefail; exec sleep infinity'] }), [], 'bash has pipefail');
  t.same(await run({ image: img('alpine:3'), command: ['sh', '-c', 'set -o pipefail; exec sleep infinity'] }), [], 'busybox ash has pipefail');
  t.same(await run({ image: img('layered:1'), command: ['sh', '-c', 'set -o errexit; echo "-o pipefail"; exec app'] }), [], 'another option, and pipefail only quoted in an echo');
  t.same(
    await run({ image: img('layered:1'), command: ['sh', '-c', 'set -o pipefail; exec app'] }, 'Pod', world.ports({ inspector: blindInspector() })),
    [],
    'cannot tell which sh the image has: silent',
  );
});
