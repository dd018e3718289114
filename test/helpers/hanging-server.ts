// Misbehaving HTTPS servers on 127.0.0.1 for failure-path tests, with real sockets:
//   startHangingServer - completes the TLS handshake, reads the request, never answers;
//   startStatusServer  - answers every request with one status (500/503/429...), headers
//                        and body of the test's choosing.
// Both count TCP connections and requests, so a test can assert that the client never
// connected (SSRF guard) or connected once. stop() destroys open sockets first, because
// a hanging request would otherwise keep server.close() waiting forever.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCertificates, type GeneratedCertificates } from '../../src/tls/dev-certs.js';

export interface TestServer {
  /** '127.0.0.1:PORT' */
  host: string;
  /** 'https://127.0.0.1:PORT' */
  url: string;
  port: number;
  caPem: string;
  caFile: string;
  /** TCP connections accepted so far. */
  connections(): number;
  /** HTTP requests received so far (method and path). */
  requests: Array<{ method: string; url: string; headers: IncomingMessage['headers'] }>;
  stop(): Promise<void>;
}

export interface StatusServerOptions {
  status: number;
  headers?: Record<string, string>;
  /** JSON-serialised when not a string. */
  body?: unknown;
  certs?: GeneratedCertificates;
}

/** The given certificates, or fresh ones in a temp folder that stop() removes. */
async function certsFor(given?: GeneratedCertificates): Promise<{ certs: GeneratedCertificates; tempDir?: string }> {
  if (given) return { certs: given };
  const tempDir = mkdtempSync(join(tmpdir(), 'bg-testsrv-'));
  return { certs: await generateCertificates({ dir: tempDir, hosts: ['127.0.0.1', 'localhost'] }), tempDir };
}

async function listen(server: Server, { certs, tempDir }: { certs: GeneratedCertificates; tempDir?: string }, requests: TestServer['requests']): Promise<TestServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  server.on('connection', (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // TLS errors (a client rejecting our certificate) are expected in some tests.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('test server has no TCP address');
  return {
    host: `127.0.0.1:${addr.port}`,
    url: `https://127.0.0.1:${addr.port}`,
    port: addr.port,
    caPem: certs.caPem,
    caFile: certs.caFile,
    connections: () => connections,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          if (tempDir) rmSync(tempDir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}

/** An HTTPS server that accepts connections and requests and never answers. */
export async function startHangingServer(opts: { certs?: GeneratedCertificates } = {}): Promise<TestServer> {
  const material = await certsFor(opts.certs);
  const { certs } = material;
  const requests: TestServer['requests'] = [];
  const server = createServer({ cert: certs.certPem, key: certs.keyPem }, (req: IncomingMessage) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    // Never respond; the socket stays open until the client gives up or stop() is called.
  });
  // Node's default 5 minute request timeout would not matter within a test, but make it explicit.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  return listen(server, material, requests);
}

/** An HTTPS server answering every request with the same status, headers and body. */
export async function startStatusServer(opts: StatusServerOptions): Promise<TestServer> {
  const material = await certsFor(opts.certs);
  const { certs } = material;
  const requests: TestServer['requests'] = [];
  const body = opts.body === undefined ? '' : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const server = createServer({ cert: certs.certPem, key: certs.keyPem }, (req: IncomingMessage, res: ServerResponse) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    res.writeHead(opts.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...opts.headers,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    req.resume();
  });
  return listen(server, material, requests);
}
