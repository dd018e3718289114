// Child of image-index.js: loads the inspector module, indexes one image, prints one JSON line.
// The adapter below is the only place that knows the inspector's API (issue 5,
// src/inspect/image-inspector.ts: new RegistryImageInspector({ registry, maxBytesPerImage,
// cacheBytes }).files(ref, architecture, signal)); when that API is not there it answers n/a
// with the exports it found, instead of failing the whole bench.
import { readFileSync, writeFileSync } from 'node:fs';
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

// The kernel's high-water mark of this process's RSS: VmHWM in /proc/self/status, reset here
// by writing 5 to /proc/self/clear_refs (proc(5), Linux 4.0+), so it covers the indexing only.
// Not process.resourceUsage().maxRSS: getrusage's ru_maxrss carries over exec the RSS of the
// process that forked this one (Linux keeps the larger of the old and new images' marks), so in
// a child of the bench it starts at the bench's own RSS, which holds the whole 100 MB image.
const resetHighWater = () => {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
};
const highWater = () => {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
};

// The warm run: one small image first, through the same inspector and registry client.
if (settings.warmUpImage) {
  const w = await inspector.files(parseReference(settings.warmUpImage), 'amd64', AbortSignal.timeout(60_000));
  if (w?.status !== 'found') out({ status: 'failed', reason: `warm-up image: ${w?.reason ?? JSON.stringify(w)}` });
}
globalThis.gc?.();
globalThis.gc?.();
const before = process.memoryUsage().rss;
const kernelMark = resetHighWater();
let peak = before;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 5);
const started = performance.now();
const result = await inspector.files(ref, 'amd64', AbortSignal.timeout(150_000));
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
const sampledPeak = peak;
const mark = kernelMark ? highWater() : undefined;
if (mark !== undefined) peak = Math.max(peak, mark);
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
  // Where the peak comes from: the kernel's mark (with the 5 ms samples), or the samples alone.
  peakSource: mark !== undefined ? 'VmHWM' : 'sampled every 5 ms',
  sampledGrowthMB: mb(sampledPeak - before),
  indexBytes: inspector.cacheBytes,
  probe,
});
