// nodeImagesReader over a listNode answer (the shape @kubernetes/client-node returns), and the
// distinct architectures the platform checks use. The API server side is exercised in test/e2e.
import t from 'tap';
import { clusterArchitectures, nodeImagesReader } from '../../src/kube/nodes.js';

const list = (items: unknown[]) => ({ listNode: async () => ({ items }) }) as never;
const signal = new AbortController().signal;

t.test('architectures come from the kubernetes.io/arch label, else nodeInfo, deduplicated', async (t) => {
  const read = nodeImagesReader(
    list([
      { metadata: { name: 'a', labels: { 'kubernetes.io/arch': 'arm64' } }, status: { images: [{ names: ['nginx:1'] }] } },
      { metadata: { name: 'b' }, status: { nodeInfo: { architecture: 'amd64' } } },
      { metadata: { name: 'c', labels: { 'kubernetes.io/arch': 'amd64' } } },
    ]),
    { ttlMs: 1000 },
  );
  t.same(await clusterArchitectures(read, signal), ['amd64', 'arm64']);
  const r = await read(signal);
  t.equal(r.status, 'found');
  if (r.status === 'found') t.ok(r.nodes[0]!.images.has('nginx:1'));
});

t.test('no node says its architecture, or the list fails: undefined (the config applies)', async (t) => {
  t.equal(await clusterArchitectures(nodeImagesReader(list([{ metadata: { name: 'a' } }]), { ttlMs: 1000 }), signal), undefined);
  const failing = nodeImagesReader({ listNode: async () => { throw Object.assign(new Error('forbidden'), { code: 403 }); } } as never, { ttlMs: 1000 });
  t.equal(await clusterArchitectures(failing, signal), undefined);
});
