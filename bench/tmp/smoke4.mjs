import { startBenchRegistry, pusher, pool } from '../lib/registry.js';
import { Agent, request } from 'undici';
import tls, { rootCertificates } from 'node:tls';
let connects = 0;
const orig = tls.connect;
tls.connect = function (...a) { connects++; return orig.apply(this, a); };
const reg = await startBenchRegistry();
try {
  const p = pusher(reg);
  const { manifest } = await p.pushImage('churn/r0', 't0');
  const tok = `Bearer ${reg.mint(['repository:churn/r0:pull'])}`;
  for (const [name, opts] of [['ca only', { ca: reg.caPem }], ['roots+ca', { ca: [...rootCertificates, reg.caPem] }]]) {
    for (const method of ['HEAD', 'GET']) {
      const agent = new Agent({ connect: opts, connections: 8 });
      connects = 0;
      const t = performance.now();
      for (let i = 0; i < 20; i++) { const r = await request(`${reg.url}/v2/churn/r0/manifests/t0`, { method, dispatcher: agent, headers: { authorization: tok, accept: 'application/vnd.oci.image.manifest.v1+json' } }); await r.body.dump(); if (i == 0 && method === 'HEAD') console.log(r.statusCode, r.headers); }
      console.log(name, method, 'ms', (performance.now() - t).toFixed(0), 'connects', connects);
      await agent.close();
    }
  }
} finally { await reg.stop(); }
