import { startBenchRegistry, pusher, pool, tagInStorage } from '../lib/registry.js';
import { execFile } from 'node:child_process'; import { promisify } from 'node:util'; const ef = promisify(execFile);
const reg = await startBenchRegistry();
try {
  const p = pusher(reg);
  const { digest } = await p.pushImage('churn/r0', 't0');
  let t = performance.now();
  for (let i = 0; i < 3000; i++) tagInStorage(reg, 'churn/r0', `t${i}`, digest);
  console.log('3000 storage tags ms', (performance.now() - t).toFixed(0));
  for (const mode of ['extra', 'cafile']) {
    const r = await ef(process.execPath, ['bench/tmp/smoke6-child.mjs', reg.host, mode, reg.caPem], { env: { ...process.env, NODE_EXTRA_CA_CERTS: reg.caFile }, encoding: 'utf8' });
    console.log(mode, r.stdout, r.stderr);
  }
  console.log('access', reg.access.length, 'tokens', reg.tokenRequests.length);
} finally { await reg.stop(); }
