// The ConfigMap reader over a stand-in for CoreV1Api (the real client is exercised by the e2e suite).
import t from 'tap';
import { configMapReader } from '../../src/kube/config-maps.js';

const apiError = (code: number) => Object.assign(new Error(`HTTP-Code: ${code}`), { code });

t.test('keys of data and binaryData, never the values; 404 is missing; 403 cannot tell', async (t) => {
  const calls: string[] = [];
  const core = {
    readNamespacedConfigMap: async ({ name, namespace }: { name: string; namespace: string }) => {
      calls.push(`${namespace}/${name}`);
      if (name === 'app') return { data: { 'log-level': 'debug' }, binaryData: { 'logo.png': 'iVBOR' } };
      throw apiError(name === 'secret-ns' ? 403 : 404);
    },
  };
  const read = configMapReader(core as never, { ttlMs: 60_000 });
  const signal = new AbortController().signal;
  t.same(await read('default', 'app', signal), { status: 'found', keys: ['log-level', 'logo.png'] });
  t.same(await read('default', 'nope', signal), { status: 'missing' });
  t.same(await read('default', 'secret-ns', signal), { status: 'unknown', reason: 'forbidden (the webhook needs get on this resource)' });
  await read('default', 'app', signal);
  t.same(calls, ['default/app', 'default/nope', 'default/secret-ns'], 'cached');
});

t.test('never waits past the review deadline', async (t) => {
  const core = { readNamespacedConfigMap: () => new Promise<never>(() => {}) };
  const read = configMapReader(core as never, { ttlMs: 60_000 });
  const deadline = new AbortController();
  setTimeout(() => deadline.abort(), 50); // a ref'd timer: AbortSignal.timeout's would not keep the test alive
  t.same(await read('default', 'slow', deadline.signal), { status: 'unknown', reason: 'not read within the review deadline' });
});
