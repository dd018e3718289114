import Fastify from 'fastify';
import { connect } from 'node:tls';
import { readFileSync, mkdtempSync } from 'node:fs';
import { generateCertificates } from '../../dist/tls/dev-certs.js';
const certs = await generateCertificates({ dir: mkdtempSync('/tmp/tr-'), hosts: ['127.0.0.1'] });
for (const extra of [{}, { requestTimeout: 3000, headersTimeout: 3000, connectionsCheckingInterval: 500 }]) {
  const app = Fastify({ requestTimeout: 3000, https: { key: certs.keyPem, cert: certs.certPem, minVersion: 'TLSv1.2', ...extra } });
  app.post('/x', async () => ({ ok: 1 }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = app.server.address().port;
  const t0 = performance.now();
  const s = connect({ port, host: '127.0.0.1', ca: certs.caPem });
  await new Promise((r) => s.once('secureConnect', r));
  s.write('POST /x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n');
  const timer = setInterval(() => s.write('{'), 200);
  let first = '';
  s.on('data', (d) => { first ||= d.toString().split('\r\n')[0]; });
  await Promise.race([new Promise((r) => s.on('close', r)), new Promise((r) => setTimeout(r, 15000))]);
  clearInterval(timer); s.destroy();
  console.log(JSON.stringify(extra), 'cut after', ((performance.now() - t0) / 1000).toFixed(1), 's', first || '(still open at 15 s)');
  await app.close();
}
