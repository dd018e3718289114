// config-refs over an in-memory namespace (the Kubernetes reader is an adapter in src/kube).
import t from 'tap';
import { configRefs } from '../../src/checks/config-refs.js';
import type { CheckPorts, NamespacedObjects } from '../../src/checks/ports.js';
import { expectOne, podInput } from '../helpers/image-world.js';

const objects = (configMaps: Record<string, string[]>, secrets: Record<string, string[]>, calls: string[] = []): NamespacedObjects => ({
  configMap: async (ns, name) => (calls.push(`cm ${ns}/${name}`), configMaps[name] ? { status: 'found', keys: configMaps[name] } : { status: 'missing' }),
  secret: async (ns, name) => (calls.push(`secret ${ns}/${name}`), secrets[name] ? { status: 'found', keys: secrets[name] } : { status: 'missing' }),
});
const ports = (o: NamespacedObjects): CheckPorts => ({ images: undefined as never, objects: o });
const ns = objects({ app: ['LOG_LEVEL'] }, { db: ['password'] });
const run = (c: Record<string, unknown>, pod: Record<string, unknown> = {}, o = ns) => configRefs.run(podInput({ image: 'nginx:1', ...c }, pod, 'Deployment'), ports(o));

t.test('a missing ConfigMap in env: CreateContainerConfigError, a warning only', async (t) => {
  const f = await run({ env: [{ name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'nope', key: 'LOG_LEVEL' } } }] });
  expectOne(t, f, 'likely', 'ConfigMap "nope" (env LEVEL) is not in namespace "default"', 'CreateContainerConfigError (configmap "nope" not found)', 'mark it optional');
});

t.test('a missing key, a missing Secret in envFrom, a missing volume source', async (t) => {
  expectOne(t, await run({ env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db', key: 'passwd' } } }] }), 'likely', "couldn't find key passwd in Secret default/db");
  expectOne(t, await run({ envFrom: [{ secretRef: { name: 'creds' } }] }), 'likely', 'secret "creds" not found');
  const vol = await run({}, { volumes: [{ name: 'cfg', configMap: { name: 'web-config' } }] });
  expectOne(t, vol, 'likely', 'ConfigMap "web-config" (volume "cfg")', 'the pod stays ContainerCreating (MountVolume.SetUp failed: configmap "web-config" not found)');
  const projected = await run({}, { volumes: [{ name: 'all', projected: { sources: [{ secret: { name: 'tls' } }] } }] });
  expectOne(t, projected, 'likely', 'Secret "tls" (volume "all")');
});

t.test('passing: present objects and keys, optional references', async (t) => {
  const calls: string[] = [];
  const o = objects({ app: ['LOG_LEVEL'] }, { db: ['password'] }, calls);
  t.same(await run({ env: [{ name: 'L', valueFrom: { configMapKeyRef: { name: 'app', key: 'LOG_LEVEL' } } }, { name: 'M', valueFrom: { configMapKeyRef: { name: 'app', key: 'LOG_LEVEL' } } }], envFrom: [{ secretRef: { name: 'db' } }] }, {}, o), []);
  t.same(calls, ['cm default/app', 'secret default/db'], 'each object asked once');
  t.same(await run({ env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k', optional: true } } }], envFrom: [{ configMapRef: { name: 'nope', optional: true } }] }), []);
  t.same(await run({}, { volumes: [{ name: 'v', secret: { secretName: 'nope', optional: true } }] }), []);
});

t.test('cannot tell: no reader, no namespace, or the API server does not answer -> silent', async (t) => {
  const env = { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }] };
  t.same(await configRefs.run(podInput({ image: 'nginx:1', ...env }, {}, 'Deployment'), { images: undefined as never }), []);
  const down: NamespacedObjects = { configMap: async () => ({ status: 'unknown', reason: 'timeout' }), secret: async () => ({ status: 'unknown', reason: 'timeout' }) };
  t.same(await run(env, {}, down), []);
});
