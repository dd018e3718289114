import { spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { Agent, request } from 'undici';
const dir = mkdtempSync('/tmp/bg-r-');
writeFileSync(`${dir}/c.yml`, `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:15998\n`);
const child = spawn('docker-registry', ['serve', `${dir}/c.yml`], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 800));
const agent = new Agent({ connections: 8 });
for (const method of ['GET', 'HEAD', 'GET']) {
  const t = performance.now();
  for (let i = 0; i < 200; i++) { const r = await request(`http://127.0.0.1:15998/v2/a/manifests/t${i}`, { method, dispatcher: agent }); await r.body.dump(); }
  console.log(method, 'per req ms', ((performance.now() - t) / 200).toFixed(2));
}
const t = performance.now();
for (let i = 0; i < 200; i++) { const r = await request(`http://127.0.0.1:15998/v2/`, { dispatcher: agent }); await r.body.dump(); }
console.log('GET /v2/ per req ms', ((performance.now() - t) / 200).toFixed(2));
await agent.close();
child.kill();
