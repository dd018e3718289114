import Fastify from 'fastify';
import { connect } from 'node:net';
for (const interval of [undefined, 500]) {
  const app = Fastify({ requestTimeout: 3000, ...(interval ? { http: { connectionsCheckingInterval: interval } } : {}) });
  app.post('/x', async () => ({ ok: 1 }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = app.server.address().port;
  const t0 = performance.now();
  const s = connect(port, '127.0.0.1');
  s.write('POST /x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n');
  const timer = setInterval(() => s.write('{'), 200);
  let first = '';
  s.on('data', (d) => { first ||= d.toString().split('\r\n')[0]; });
  await new Promise((r) => s.on('close', r));
  clearInterval(timer);
  console.log('connectionsCheckingInterval', interval ?? 'default (30000)', 'cut after', ((performance.now() - t0) / 1000).toFixed(1), 's', first);
  await app.close();
}
