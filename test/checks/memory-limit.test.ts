import t from 'tap';
import { memoryLimit, parseQuantity } from '../../src/checks/memory-limit.js';
import type { Finding } from '../../src/checks/types.js';
import { expectOne, podInput } from '../helpers/image-world.js';

const run = (limits?: Record<string, unknown>, requests?: Record<string, unknown>) =>
  memoryLimit.run(podInput({ image: 'nginx:1', resources: { ...(limits ? { limits } : {}), ...(requests ? { requests } : {}) } }, {}, 'Deployment'), {}) as Finding[];

t.test('quantities as Kubernetes reads them', async (t) => {
  t.equal(parseQuantity('64Mi'), 64 * 1024 * 1024);
  t.equal(parseQuantity('1G'), 1e9);
  t.equal(parseQuantity('1.5Gi'), 1.5 * 2 ** 30);
  t.equal(parseQuantity('1e6'), 1e6);
  t.equal(parseQuantity('500m'), 0.5);
  t.equal(parseQuantity(1048576), 1048576);
  t.equal(parseQuantity('12 apples'), undefined);
});

t.test('below 6 MiB: the container cannot start, denied with the runtime words', async (t) => {
  expectOne(t, run({ memory: '4Mi' }), 'certain', 'memory limit "4Mi" is below the 6 MiB', 'container init was OOM-killed (memory limit too low?)', 'StartError, then CrashLoopBackOff');
  expectOne(t, run({ memory: '128m' }), 'certain', '"128m" means 128 thousandths of a byte: write "128Mi"');
  expectOne(t, run({ memory: 5_000_000 }), 'certain');
});

t.test('below 16 MiB: OOMKilled at start is likely, a warning', async (t) => {
  expectOne(t, run({ memory: '12Mi' }), 'likely', 'below 16 MiB', 'OOMKilled');
});

t.test('passing: 16 MiB and more, requests only, no limit', async (t) => {
  t.same(run({ memory: '16Mi' }), []);
  t.same(run({ memory: '1Gi', cpu: '10m' }), []);
  t.same(run(undefined, { memory: '1Mi' }), [], 'a request is not a cgroup limit');
  t.same(run(), []);
});

t.test('cannot tell: an unparsable quantity (the API server rejects it anyway) -> silent', async (t) => {
  t.same(run({ memory: 'lots' }), []);
});
