import http from 'node:http';
import { connect } from 'node:net';
async function trial(opts, after) {
  const srv = http.createServer(opts, (req, res) => { req.resume(); req.on('end', () => res.end('ok')); });
  if (after) Object.assign(srv, after);
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const t0 = performance.now();
  const s = connect(srv.address().port, '127.0.0.1');
  s.write('POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n');
  const timer = setInterval(() => s.write('{'), 200);
  let first = '';
  s.on('data', (d) => { first ||= d.toString().split('\r\n')[0]; });
  await Promise.race([new Promise((r) => s.on('close', r)), new Promise((r) => setTimeout(r, 20000))]);
  clearInterval(timer); s.destroy();
  console.log(JSON.stringify(opts), JSON.stringify(after ?? {}), 'cut after', ((performance.now() - t0) / 1000).toFixed(1), 's', first || '(still open at 20 s)');
  srv.closeAllConnections(); srv.close();
}
await trial({ requestTimeout: 3000, connectionsCheckingInterval: 500 });
await trial({ requestTimeout: 3000, headersTimeout: 2000, connectionsCheckingInterval: 500 });
await trial({ connectionsCheckingInterval: 500 }, { requestTimeout: 3000 });
