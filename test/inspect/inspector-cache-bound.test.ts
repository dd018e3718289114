// The inspector's per-image caches (tag digests, lookups, manifests, configs) hold at most
// `maxEntries` images (the engine passes cache.maxEntries), least recently used first out.
// A registry in memory: every tag names the same single-layer-less image.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import t from 'tap';
import { parseReference } from '../../src/image/reference.js';
import { RegistryImageInspector, type RegistryReader } from '../../src/inspect/image-inspector.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Entrypoint: ['/app'] } }));
const manifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
    layers: [],
  }),
);

function memoryRegistry() {
  const calls = { head: 0, manifest: 0, blob: 0 };
  const registry: RegistryReader = {
    async headManifest() {
      calls.head++;
      return { digest: sha(manifest), mediaType: 'application/vnd.oci.image.manifest.v1+json' };
    },
    async getManifest() {
      calls.manifest++;
      return { descriptor: { digest: sha(manifest), mediaType: 'application/vnd.oci.image.manifest.v1+json' }, body: manifest };
    },
    async getBlob() {
      calls.blob++;
      return Readable.from([config]);
    },
  };
  return { registry, calls };
}

const ref = (i: number) => parseReference(`registry.example/team/app:t${i}`);

t.test('maxEntries bounds the images remembered', async (t) => {
  const { registry, calls } = memoryRegistry();
  const inspector = new RegistryImageInspector({ registry, maxBytesPerImage: 1e6, cacheBytes: 1e6, maxEntries: 2 });
  for (const i of [0, 1, 2]) t.equal((await inspector.config(ref(i), 'amd64')).status, 'found');
  t.equal(calls.head, 3, 'one tag resolution per image');
  await inspector.config(ref(2), 'amd64');
  await inspector.config(ref(1), 'amd64');
  t.equal(calls.head, 3, 'the 2 most recent images are remembered');
  await inspector.config(ref(0), 'amd64');
  t.equal(calls.head, 4, 'the first one was forgotten for the third: its tag is resolved again');
  t.equal(calls.manifest, 1, 'the manifest all tags share stayed cached (it is used all along)');
  t.equal(calls.blob, 1, 'and so did the config');
});

t.test('without maxEntries, a few thousand images are remembered', async (t) => {
  const { registry, calls } = memoryRegistry();
  const inspector = new RegistryImageInspector({ registry, maxBytesPerImage: 1e6, cacheBytes: 1e6 });
  for (const i of [0, 1, 2, 0, 1, 2]) await inspector.config(ref(i), 'amd64');
  t.equal(calls.head, 3);
});
