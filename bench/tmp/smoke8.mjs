import { createServer } from 'node:http';
import { Agent, request } from 'undici';
const s = createServer((req, res) => res.end('{}')).listen(15997, '127.0.0.1');
await new Promise((r) => setTimeout(r, 100));
const agent = new Agent({ connections: 8 });
const t = performance.now();
for (let i = 0; i < 500; i++) { const r = await request(`http://127.0.0.1:15997/v2/`, { dispatcher: agent }); await r.body.dump(); }
console.log('node GET per req ms', ((performance.now() - t) / 500).toFixed(3));
await agent.close(); s.close();
