// Issue 13: a plain-HTTP listener for Prometheus and people, apart from the webhook's HTTPS port
// (config metrics.port; 0: off): GET /metrics, GET /audit (the last audit pass as JSON).
// node:http, not Fastify: two read-only routes, no body, no TLS (scraped inside the cluster).
import { createServer, type Server } from 'node:http';

export interface MetricsServerDeps {
  metrics: { contentType: string; render(): Promise<string> };
  /** The last audit pass as JSON text, or undefined before the first one (503). */
  audit?: () => { status: number; body: unknown };
}

export async function startMetricsServer(host: string, port: number, deps: MetricsServerDeps): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'only GET\n');
    if (path === '/metrics') {
      deps.metrics.render().then(
        (text) => send(200, deps.metrics.contentType, text),
        (err: Error) => send(500, 'text/plain', `metrics unavailable: ${err.message}\n`),
      );
      return;
    }
    if (path === '/audit') {
      if (!deps.audit) return send(404, 'application/json', `${JSON.stringify({ error: 'audit is off (audit.enabled: false)' })}\n`);
      const { status, body } = deps.audit();
      return send(status, 'application/json', `${JSON.stringify(body)}\n`);
    }
    send(404, 'text/plain', 'not found: GET /metrics or /audit\n');
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : port,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
