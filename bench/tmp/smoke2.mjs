import { startBenchRegistry, pusher, pool } from '/work/main/bench/lib/registry.js';
import { RegistryClient } from '/work/main/dist/registry/client.js';
import { request } from 'undici';
const reg = await startBenchRegistry();
try {
  const p = pusher(reg);
  const { manifest } = await p.pushImage('churn/r0', 't0');
  await pool(Array.from({length: 100}, (_, i) => i), 16, (i) => p.putManifest('churn/r0', `t${i}`, manifest));
  const tok = `Bearer ${reg.mint(['repository:churn/r0:pull'])}`;
  let t = performance.now();
  for (let i = 0; i < 50; i++) { const r = await request(`${reg.url}/v2/churn/r0/manifests/t${i}`, { method: 'HEAD', dispatcher: reg.agent, headers: { authorization: tok, accept: 'application/vnd.oci.image.manifest.v1+json' } }); await r.body.dump(); }
  console.log('50 raw HEADs seq ms', performance.now() - t);
  const c = new RegistryClient({ hosts: { [reg.host]: { ca: reg.caPem, allowPrivateNetwork: true } }, userAgent: 'backoff-guard/x' });
  for (let i = 0; i < 50; i++) { t = performance.now(); await c.headManifest({ domain: reg.host, path: 'churn/r0', reference: `t${i}` }); if (i < 5 || i % 10 == 0) console.log(i, (performance.now() - t).toFixed(1)); }
  await c.close();
} finally { await reg.stop(); }
