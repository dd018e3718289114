import { startBenchRegistry, pusher } from '../lib/registry.js';
import { createEngine } from '../../dist/engine.js';
import { handleReview } from '../../dist/admission/handle-review.js';
import { loadConfig } from '../../dist/config/load.js';
import { reviewFor } from '../../dist/admission/review.js';
import { pino } from 'pino';
const reg = await startBenchRegistry();
const p = pusher(reg);
const images = ['library/nginx:1.14.2', 'library/busybox:1.36', 'team/app:1.0'];
for (const im of images) { const [r, t] = im.split(':'); await p.pushImage(r, t); }
const config = loadConfig({ document: { registry: { hosts: { [reg.host]: { allowPrivateNetwork: true, caFile: reg.caFile } } }, kubernetes: { enabled: 'off' } } });
const engine = await createEngine(config, { logger: pino({ level: 'silent' }), namespaceLabels: null });
const dep = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: images.map((im, i) => ({ name: `c${i}`, image: `${reg.host}/${im}`, command: ['/app'] })) } } } };
const body = reviewFor(dep);
await engine.review(body, AbortSignal.timeout(10000));
const all = engine.reviewDeps.checks;
const measure = async (name, checks, conc) => {
  const deps = { ...engine.reviewDeps, checks };
  const N = 6000;
  for (let i = 0; i < 500; i++) await handleReview(body, AbortSignal.timeout(10000), deps);
  const t = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: conc }, async () => { while (next++ < N) await handleReview(body, AbortSignal.timeout(3000), deps); }));
  console.log(name.padEnd(40), 'concurrency', conc, 'us/review', ((performance.now() - t) / N * 1000).toFixed(0));
};
for (const conc of [1, 32]) {
  await measure('3 checks (before issue 5)', all.filter((c) => ['image-reference', 'image-exists', 'command-sanity'].includes(c.id)), conc);
  await measure(`all ${all.length} checks`, all, conc);
  for (const c of all) await measure(`only ${c.id}`, [c], conc === 1 ? 1 : 32);
}
await engine.close(); await reg.stop();
