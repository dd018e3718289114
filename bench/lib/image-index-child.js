// Child of image-index.js: loads the inspector module, indexes one image, prints one JSON line.
// The adapter below is the only place that knows the inspector's API (issue 5,
// src/inspect/image-inspector.ts: new RegistryImageInspector({ registry, maxBytesPerImage,
// cacheBytes }).files(ref, architecture, signal)); when that API is not there it answers n/a
// with the exports it found, instead of failing the whole bench.
import { pathToFileURL } from 'node:url';
import { parseReference } from '../../dist/image/reference.js';
import { RegistryClient } from '../../dist/registry/client.js';

const settings = JSON.parse(process.argv[2]);
const mb = (n) => Math.round((n / 1048576) * 10) / 10;
const out = (o) => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
  process.exit(0);
};

const mod = await import(pathToFileURL(settings.inspectorModulePath).href);
const Inspector = mod.RegistryImageInspector;
if (typeof Inspector !== 'function') out({ status: 'n/a', reason: `inspector API not recognised (exports: ${Object.keys(mod).join(', ')})` });

const registry = new RegistryClient({ hosts: { [settings.host]: { allowPrivateNetwork: true, timeoutMs: 60_000 } }, userAgent: 'backoff-guard/bench', timeoutMs: 60_000 });
if (typeof registry.getBlob !== 'function') out({ status: 'n/a', reason: 'the registry client has no getBlob yet' });
const inspector = new Inspector({ registry, maxBytesPerImage: 1024 * 1024 * 1024, cacheBytes: 256 * 1024 * 1024, indexTimeoutMs: 150_000 });
const ref = parseReference(settings.image);

globalThis.gc?.();
globalThis.gc?.();
const before = process.memoryUsage().rss;
let peak = before;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 5);
const started = performance.now();
const result = await inspector.files(ref, 'amd64', AbortSignal.timeout(150_000));
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
peak = Math.max(peak, process.resourceUsage().maxRSS * 1024);
await registry.close();
if (result?.status !== 'found') out({ status: 'failed', reason: result?.reason ?? JSON.stringify(result), seconds });
const fs = result.files;
const probe = typeof fs.raw === 'function' ? { app: !!fs.raw('usr/bin/app'), whiteout: !fs.raw('usr/lib/layer0/d0/file0.bin') } : undefined;
out({
  status: 'ok',
  seconds,
  rssBeforeMB: mb(before),
  rssPeakMB: mb(peak),
  rssGrowthMB: mb(peak - before),
  indexBytes: inspector.cacheBytes,
  probe,
});
