import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Agent, request } from 'undici';
import { startBenchRegistry, pusher } from '../lib/registry.js';
import { generateCertificates } from '../../dist/tls/dev-certs.js';
import { reviewFor } from '../../dist/admission/review.js';
const reg = await startBenchRegistry();
const p = pusher(reg);
const images = ['library/nginx:1.14.2', 'library/busybox:1.36', 'team/app:1.0'];
for (const im of images) { const [r, t] = im.split(':'); await p.pushImage(r, t); }
const work = mkdtempSync('/tmp/bg-prof-');
const certs = await generateCertificates({ dir: join(work, 'tls'), hosts: ['127.0.0.1'] });
const mode = process.argv[2] ?? 'webhook';
writeFileSync(join(work, 's.json'), JSON.stringify({ config: { server: { host: '127.0.0.1', port: 0, tls: { certFile: certs.certFile, keyFile: certs.keyFile, generateDevCertificates: false } }, registry: { hosts: { [reg.host]: { allowPrivateNetwork: true, caFile: reg.caFile } } }, kubernetes: { enabled: 'off' }, log: { level: 'info' } } }));
const profDir = join(work, 'prof');
const child = spawn('taskset', ['-c', '0', process.execPath, '--cpu-prof', '--cpu-prof-dir', profDir, 'bench/lib/server.js', mode, join(work, 's.json')], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
const ready = await new Promise((r) => child.once('message', r));
const origin = `https://127.0.0.1:${ready.port}`;
const dep = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: images.map((im, i) => ({ name: `c${i}`, image: `${reg.host}/${im}`, command: ['/app'] })) } } } };
const body = JSON.stringify(reviewFor(dep, { uid: 'x' }));
const agent = new Agent({ connect: { ca: certs.caPem } });
const r0 = await request(`${origin}/validate?timeout=10s`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: agent });
console.log(await r0.body.text());
await new Promise((r) => setTimeout(r, 300)); reg.access.length = 0; reg.tokenRequests.length = 0;
child.send({ mark: true }); const loadStart = (await new Promise((r) => child.once('message', r))).t;
const r = await autocannon({ url: `${origin}/validate?timeout=10s`, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections: 32, duration: 6 });
console.log(mode, 'reviews/s', r.requests.average, 'non2xx', r.non2xx);
child.send({ mark: true }); const loadEnd = (await new Promise((r) => child.once('message', r))).t;
await new Promise((r) => setTimeout(r, 300));
const g = {}; for (const a of reg.access) { const k = `${a.method} ${a.path.replace(/sha256:[0-9a-f]+/, 'sha256:X')} ${a.status}`; g[k] = (g[k] ?? 0) + 1; } console.log('registry during load:', g, 'tokens', reg.tokenRequests.length);
child.send({ stop: true });
await new Promise((r) => child.once('exit', r));
const file = readdirSync(profDir)[0];
const profile = JSON.parse(readFileSync(join(profDir, file)));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const times = []; let tcur = profile.startTime; for (const d of profile.timeDeltas) { tcur += d; times.push(tcur); }
const winEnd = loadEnd, winStart = loadStart;
const counts = new Map(); let total = 0;
profile.samples.forEach((s, i) => { if (times[i] >= winStart && times[i] <= winEnd) { counts.set(s, (counts.get(s) ?? 0) + 1); total++; } });
console.log('samples in window', total);
const group = (n) => { let u = n.callFrame.url.replace(/^.*\/(dist|node_modules)\//, '$1/'); return u.startsWith('node_modules/') ? u.split('/').slice(0, 2).join('/') : (u || n.callFrame.functionName); };
const self = new Map();
for (const [id, c] of counts) { const k = group(byId.get(id)); self.set(k, (self.get(k) ?? 0) + c); }
console.log([...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 22).map(([k, c]) => (100 * c / total).toFixed(1).padStart(5) + '% ' + k).join('\n'));
// inclusive time of some functions
const parent = new Map(); for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const incl = new Map();
for (const [id, c] of counts) { const seen = new Set(); let cur = id; while (cur !== undefined) { const n = byId.get(cur); const k = `${n.callFrame.functionName} ${group(n)}`; if (!seen.has(k)) { seen.add(k); incl.set(k, (incl.get(k) ?? 0) + c); } cur = parent.get(cur); } }
console.log('--- inclusive');
console.log([...incl.entries()].filter(([k]) => /dist\/|pino|prom-client|secure-json|fastify/.test(k)).sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, c]) => (100 * c / total).toFixed(1).padStart(5) + '% ' + k).join('\n'));
await agent.close(); await reg.stop();
