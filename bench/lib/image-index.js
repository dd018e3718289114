// Figure 4: indexing a 100 MB multi-layer image (issue 5's file index). The inspector is
// plugged in by module path: `benchImageIndex({ inspectorModulePath, ... })` returns
// { status: 'n/a', reason } while that module is not built, so the rest of the bench runs.
// The measurement runs in a child process of its own (image-index-child.js), so its peak RSS
// is the inspector's alone: RSS before, peak RSS while indexing (sampled every 5 ms and the
// kernel's high-water mark of the child, VmHWM, reset when indexing starts), seconds from the
// first request to the file index.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { tarArchive } from './registry.js';

const CHILD = fileURLToPath(new URL('./image-index-child.js', import.meta.url));

/**
 * Layers of random (incompressible) files so the compressed image really weighs `totalMB`:
 * `layers` layers of `filesPerLayer` files each, under usr/lib/<layer>/<dir>/, and a whiteout
 * in every upper layer deleting one file of the layer below (multi-layer semantics exercised).
 */
export function bigImageLayers({ totalMB = 100, layers = 5, filesPerLayer = 500 } = {}) {
  const fileBytes = Math.floor((totalMB * 1_000_000) / layers / filesPerLayer);
  const out = [];
  for (let l = 0; l < layers; l++) {
    const files = [];
    for (let f = 0; f < filesPerLayer; f++) files.push([`usr/lib/layer${l}/d${f % 20}/file${f}.bin`, randomBytes(fileBytes)]);
    if (l === 0) files.push(['usr/bin/app', '#!/bin/sh\nexec sleep infinity\n']);
    if (l > 0) files.push([`usr/lib/layer${l - 1}/d0/.wh.file0.bin`, '']);
    out.push(gzipSync(tarArchive(files), { level: 0 })); // random data does not compress: store it
  }
  return out;
}

/**
 * Stores the image (repo bench/big:1.0) and measures the inspector on it in a child process.
 * `store(repo, tag, { layers, config })` puts it in the registry (registry.js storeImage);
 * env carries NODE_EXTRA_CA_CERTS; nodeFlags are the image's (node-flags.js).
 */
export async function benchImageIndex({ inspectorModulePath, reg, store, env, nodeFlags = [], totalMB = 100 }) {
  if (!existsSync(inspectorModulePath)) return { status: 'n/a', reason: 'image inspection not built yet' };
  const layers = bigImageLayers({ totalMB });
  const compressedBytes = layers.reduce((n, l) => n + l.length, 0);
  await store('bench/big', '1.0', { layers, config: { Entrypoint: ['/usr/bin/app'] } });
  // A 1 MB image of the same shape, indexed first in the "warm" run: a serving replica has
  // already paid the once-per-process costs (TLS, token, the thread pool, compiled code, a grown
  // young generation), so the warm figure is what the 100 MB image itself adds.
  await store('bench/small', '1.0', { layers: bigImageLayers({ totalMB: 1 }), config: { Entrypoint: ['/usr/bin/app'] } });
  const run = (warmUp) =>
    new Promise((resolve, reject) => {
      const settings = { inspectorModulePath, host: reg.host, image: `${reg.host}/bench/big:1.0`, compressedBytes, ...(warmUp ? { warmUpImage: `${reg.host}/bench/small:1.0` } : {}) };
      execFile(process.execPath, [...nodeFlags, '--expose-gc', CHILD, JSON.stringify(settings)], { env, timeout: 180_000, maxBuffer: 1 << 20 }, (err, out, errOut) => {
        if (err) reject(new Error(`${err.message}\n${errOut}`));
        else resolve(JSON.parse(out.trim().split('\n').pop()));
      });
    });
  const result = await run(false);
  const warm = result.status === 'ok' ? await run(true) : undefined;
  return { ...result, ...(warm ? { warm } : {}), compressedBytes, layers: layers.length };
}
