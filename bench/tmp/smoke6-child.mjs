import { pool } from '../lib/registry.js';
import { RegistryClient } from '../../dist/registry/client.js';
const [host, mode, ca] = process.argv.slice(2);
const c = new RegistryClient({ hosts: { [host]: { allowPrivateNetwork: true, ...(mode === 'cafile' ? { ca } : {}) } }, userAgent: 'backoff-guard/x' });
let base = 0;
for (const conc of [1, 8]) {
  const t = performance.now();
  let errs = 0;
  const n = mode === 'cafile' ? 100 : 1000;
  await pool(Array.from({length: n}, (_, i) => i), conc, (i) => c.headManifest({ domain: host, path: 'churn/r0', reference: `t${base + i}` }).catch((e) => { if (!errs++) console.log(e.message); }));
  base += n;
  console.log('conc', conc, n, 'HEADs ms', (performance.now() - t).toFixed(0), 'per HEAD', ((performance.now() - t)/n).toFixed(2), 'errs', errs);
}
await c.close();
