// The inspector against a real CNCF Distribution registry and fixture images pushed through its API.
import t from 'tap';
import type { ImageConfigLookup, ImageFilesLookup } from '../../src/checks/ports.js';
import { parseReference } from '../../src/image/reference.js';
import { RegistryImageInspector, parseManifest } from '../../src/inspect/image-inspector.js';
import { zstdSupported } from '../../src/inspect/layer-reader.js';
import { RegistryClient } from '../../src/registry/client.js';
import { pushBigImage, pushStandardImages } from '../helpers/image-fixtures.js';
import { startRegistry } from '../helpers/registry.js';

const reg = await startRegistry({ auth: 'none' });
t.teardown(() => reg.stop());
const images = await pushStandardImages(reg);
const big = await pushBigImage(reg, 'big:1', 300_000);

const client = new RegistryClient({ timeoutMs: 5000, hosts: { [reg.host]: { ca: reg.caPem, allowPrivateNetwork: true } } });
t.teardown(() => client.close());

// A spy on the real client: counts what reaches the registry.
const calls = { head: 0, manifest: 0, blob: 0 };
const registry = {
  headManifest: (...a: Parameters<RegistryClient['headManifest']>) => (calls.head++, client.headManifest(...a)),
  getManifest: (...a: Parameters<RegistryClient['getManifest']>) => (calls.manifest++, client.getManifest(...a)),
  getBlob: (...a: Parameters<RegistryClient['getBlob']>) => (calls.blob++, client.getBlob(...a)),
};
const inspector = new RegistryImageInspector({ registry, maxBytesPerImage: 200_000, cacheBytes: 8 * 1024 * 1024 });
const ref = (name: string) => parseReference(images.ref(name));
const found = (r: ImageConfigLookup) => {
  if (r.status !== 'found') throw new Error(`expected found, got ${JSON.stringify(r)}`);
  return r;
};
const filesOf = (r: ImageFilesLookup) => {
  if (r.status !== 'found') throw new Error(`expected files, got ${JSON.stringify(r)}`);
  return r.files;
};

t.test('through the index, each architecture gets its own manifest and config', async (t) => {
  const amd = found(await inspector.config(ref('multi:1'), 'amd64'));
  const arm = found(await inspector.config(ref('multi:1'), 'arm64'));
  t.same(amd.platform, { os: 'linux', architecture: 'amd64' });
  t.same(arm.platform, { os: 'linux', architecture: 'arm64', variant: 'v8' });
  t.not(amd.manifestDigest, arm.manifestDigest);
  t.same(amd.index, [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' }], 'the attestation entry is not a platform');
  t.same(amd.config, { user: '', entrypoint: null, cmd: ['sleep', 'infinity'], env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], workingDir: '' });
});

t.test('an index without the node architecture: no-platform, with what it offers', async (t) => {
  const r = await inspector.config(ref('multi:1'), 's390x');
  t.same(r, { status: 'no-platform', architecture: 's390x', available: [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' }] });
  t.equal((await inspector.config(ref('amd64only:1'), 'arm64')).status, 'no-platform');
});

t.test('a single-platform image is returned whatever the node (the runtime pulls it anyway)', async (t) => {
  const r = found(await inspector.config(ref('arm64only:1'), 'amd64'));
  t.equal(r.platform.architecture, 'arm64');
  t.equal(r.index, undefined);
});

t.test('config fields: user, entrypoint, cmd', async (t) => {
  t.equal(found(await inspector.config(ref('nonroot:1'), 'amd64')).config.user, '1000');
  t.equal(found(await inspector.config(ref('named:1'), 'amd64')).config.user, 'nginx');
  t.same(found(await inspector.config(ref('distroless:1'), 'amd64')).config.entrypoint, ['/app/server']);
  const none = found(await inspector.config(ref('noentry:1'), 'amd64')).config;
  t.same([none.entrypoint, none.cmd], [null, null]);
});

t.test('lookups are cached: tag resolution, manifests and configs are asked once', async (t) => {
  const before = { ...calls };
  await inspector.config(ref('nonroot:1'), 'amd64');
  await inspector.config(ref('nonroot:1'), 'amd64');
  t.same(calls, before);
});

t.test('the file index follows symlinks and applies whiteouts and opaque directories', async (t) => {
  const alpine = filesOf(await inspector.files(ref('alpine:3'), 'amd64'));
  t.equal(alpine.stat('/bin/sh')?.path, '/bin/busybox');
  t.equal(alpine.stat('/bin/bash'), undefined);
  const layered = filesOf(await inspector.files(ref('layered:1'), 'amd64'));
  t.equal(layered.stat('/bin/sh')?.path, '/usr/bin/dash', 'merged /usr: /bin -> usr/bin, sh -> dash');
  t.equal(layered.stat('/usr/bin/curl'), undefined, 'whited out by the upper layer');
  t.equal(layered.stat('/bin/bash')?.entry.type, 'file');
  t.equal(layered.stat('/etc/app/old.conf'), undefined, 'hidden by the opaque directory');
  t.ok(layered.stat('/etc/app/new.conf'));
});

t.test('layers shared between images are downloaded once', async (t) => {
  await inspector.files(ref('nonroot:1'), 'amd64');
  await inspector.config(ref('named:1'), 'amd64');
  await inspector.config(ref('rootuser:1'), 'amd64');
  const before = calls.blob;
  // named:1 and rootuser:1 have the same (alpine) layer as nonroot:1 and alpine:3.
  filesOf(await inspector.files(ref('named:1'), 'amd64'));
  filesOf(await inspector.files(ref('rootuser:1'), 'amd64'));
  t.equal(calls.blob - before, 0, 'no layer downloaded again');
});

t.test('uncompressed layers are read; zstd ones where Node.js can', async (t) => {
  t.ok(filesOf(await inspector.files(ref('plain:1'), 'amd64')).stat('/bin/sh'));
  const z = await inspector.files(ref('zstd:1'), 'amd64');
  if (zstdSupported()) t.equal(z.status, 'found');
  else t.match(z, { status: 'unknown', reason: /zstd-compressed layers, which need Node\.js 22\.15 or later/ });
});

t.test('an image heavier than maxBytesPerImage is not downloaded: cannot tell', async (t) => {
  const before = calls.blob;
  const r = await inspector.files(parseReference(big), 'amd64');
  t.match(r, { status: 'unknown', reason: /its layers weigh 0\.3 MB, more than inspect\.maxBytesPerImage \(0\.2 MB\)/ });
  t.equal(calls.blob - before, 1, 'the config only');
});

t.test('concurrent reviews of one image share one download', async (t) => {
  const fresh = new RegistryImageInspector({ registry, maxBytesPerImage: 10_000_000, cacheBytes: 8 * 1024 * 1024 });
  const before = calls.blob;
  const all = await Promise.all([1, 2, 3, 4].map(() => fresh.files(ref('layered:1'), 'amd64')));
  t.ok(all.every((r) => r.status === 'found'));
  t.equal(calls.blob - before, 3, 'one config and two layers');
  t.equal(fresh.stats.layersIndexed, 2);
});

t.test('the layer cache stays within its memory budget', async (t) => {
  const tiny = new RegistryImageInspector({ registry, maxBytesPerImage: 10_000_000, cacheBytes: 3000 });
  const r = await tiny.files(ref('layered:1'), 'amd64');
  t.equal(r.status, 'found', 'the answer is given even when the cache cannot keep it');
  t.ok(tiny.cacheBytes <= 3000, `cache holds ${tiny.cacheBytes} bytes`);
});

t.test('a missing image or an unreachable registry: unknown, never an exception', async (t) => {
  t.match(await inspector.config(ref('nothing:1'), 'amd64'), { status: 'unknown', reason: /does not have it/ });
  t.match(await inspector.files(ref('nothing:1'), 'amd64'), { status: 'unknown' });
  const down = new RegistryImageInspector({ registry: new RegistryClient({ timeoutMs: 500, hosts: { '127.0.0.1:1': { allowPrivateNetwork: true } } }), maxBytesPerImage: 1e6, cacheBytes: 1e6 });
  t.match(await down.config(parseReference('127.0.0.1:1/x/y:1'), 'amd64'), { status: 'unknown' });
});

t.test('manifests that are not images are refused with a reason', async (t) => {
  t.match(parseManifest(Buffer.from('{"schemaVersion":1,"fsLayers":[]}'), undefined), { kind: 'unsupported', reason: /schema 1/ });
  t.match(parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: 'sha256:x', size: 1 }, layers: [] })), undefined), {
    kind: 'unsupported',
    reason: /not a container image/,
  });
  t.match(parseManifest(Buffer.from('not json'), undefined), { kind: 'unsupported' });
});

t.test('with a shared existence lookup: its digest and manifest cost the inspector no manifest request', async (t) => {
  const counts = { head: 0, manifest: 0, blob: 0, resolved: 0 };
  const spy = {
    headManifest: (...a: Parameters<RegistryClient['headManifest']>) => (counts.head++, client.headManifest(...a)),
    getManifest: (...a: Parameters<RegistryClient['getManifest']>) => (counts.manifest++, client.getManifest(...a)),
    getBlob: (...a: Parameters<RegistryClient['getBlob']>) => (counts.blob++, client.getBlob(...a)),
  };
  // What the engine wires: the existence lookup GETs the manifest by tag and hands it over.
  const shared = new RegistryImageInspector({
    registry: spy,
    maxBytesPerImage: 200_000,
    cacheBytes: 8 * 1024 * 1024,
    resolveDigest: async (r) => {
      counts.resolved++;
      const got = await client.getManifest({ domain: r.domain, path: r.path, reference: r.reference });
      shared.rememberManifest(got.descriptor.digest!, got.body, got.descriptor.mediaType);
      return got.descriptor.digest;
    },
  });
  const r = found(await shared.config(ref('nonroot:1'), 'amd64'));
  t.equal(r.config.user, '1000');
  t.same(counts, { head: 0, manifest: 0, blob: 1, resolved: 1 }, 'only the config blob is the inspector\'s own request');
});

t.test('with a shared lookup that cannot resolve the tag, the inspector asks the registry itself', async (t) => {
  const counts = { head: 0 };
  const shared = new RegistryImageInspector({
    registry: { ...registry, headManifest: (...a: Parameters<RegistryClient['headManifest']>) => (counts.head++, client.headManifest(...a)) },
    maxBytesPerImage: 200_000,
    cacheBytes: 8 * 1024 * 1024,
    resolveDigest: async () => undefined,
  });
  t.equal(found(await shared.config(ref('named:1'), 'amd64')).config.user, 'nginx');
  t.equal(counts.head, 1);
  t.equal((await shared.config(parseReference(`${reg.host}/nothing/here:1`), 'amd64')).status, 'unknown', 'a missing image is still "cannot tell", never an exception');
});

t.test('rememberManifest ignores a body that is not a manifest', async (t) => {
  const shared = new RegistryImageInspector({ registry, maxBytesPerImage: 200_000, cacheBytes: 1024 * 1024 });
  t.doesNotThrow(() => shared.rememberManifest('sha256:' + '0'.repeat(64), Buffer.from('not json'), 'application/json'));
});
