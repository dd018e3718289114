import { startBenchRegistry, pusher } from '../lib/registry.js';
import { execSync } from 'node:child_process';
const reg = await startBenchRegistry();
try {
  const p = pusher(reg);
  await p.pushImage('churn/r0', 't0');
  const dir = execSync(`ls -d /tmp/bg-bench-registry-*/data | tail -1`).toString().trim();
  console.log(execSync(`cd ${dir} && find . -path '*_manifests*' -type f | head -20 && cat $(find . -path '*tags/t0/current/link')`).toString());
} finally { await reg.stop(); }
