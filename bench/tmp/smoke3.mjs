import { startBenchRegistry, pusher, pool } from '../lib/registry.js';
import { RegistryClient } from '../../dist/registry/client.js';
import tls from 'node:tls';
let connects = 0;
const orig = tls.connect;
tls.connect = function (...a) { connects++; return orig.apply(this, a); };
const reg = await startBenchRegistry();
try {
  const p = pusher(reg);
  const { manifest } = await p.pushImage('churn/r0', 't0');
  await pool(Array.from({length: 100}, (_, i) => i), 16, (i) => p.putManifest('churn/r0', `t${i}`, manifest));
  for (const withCa of [true, false]) {
    const c = new RegistryClient({ hosts: { [reg.host]: { ...(withCa ? { ca: reg.caPem } : {}), allowPrivateNetwork: true } }, userAgent: 'backoff-guard/x' });
    connects = 0;
    let t = performance.now();
    for (let i = 0; i < 20; i++) { try { await c.headManifest({ domain: reg.host, path: 'churn/r0', reference: `t${i}` }); } catch (e) { if (i==0) console.log(e.message); } }
    console.log('withCa', withCa, 'seq 20 ms', (performance.now() - t).toFixed(0), 'tls.connect', connects);
    connects = 0; t = performance.now();
    await pool(Array.from({length: 100}, (_, i) => i), 8, (i) => c.headManifest({ domain: reg.host, path: 'churn/r0', reference: `t${i}` }).catch(() => {}));
    console.log('withCa', withCa, 'par8 100 ms', (performance.now() - t).toFixed(0), 'tls.connect', connects);
    await c.close();
  }
} finally { await reg.stop(); }
