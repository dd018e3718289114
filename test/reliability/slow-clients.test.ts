// Slow clients and big bodies, over real HTTPS sockets: 20 MB bodies (with Content-Length and
// chunked) get HTTP 413 at once, clients that send their body a byte at a time are cut off by
// the server's request timeout, and the reviews sent meanwhile are all answered, in time.
import t from 'tap';
import { connect, type TLSSocket } from 'node:tls';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { reviewFor } from '../../src/admission/review.js';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { generateCertificates } from '../../src/tls/dev-certs.js';
import { podObject } from '../helpers/workloads.js';

const BIG = 20 * 1024 * 1024;
const SLOW_CLIENTS = 20;

const certs = await generateCertificates({ dir: mkdtempSync(join(tmpdir(), 'bg-slow-')), hosts: ['127.0.0.1', 'localhost'] });
const config = loadConfig({ document: { admission: { budgetMs: 3000 }, kubernetes: { enabled: 'off' }, log: { level: 'warn' } } });
// Offline: registry lookups answer at once ("not asked"), so review latency here is the server's own.
const app = await createApp(config, { logger: pino({ level: 'silent' }), offline: true, namespaceLabels: null, tls: { key: certs.keyPem, cert: certs.certPem } });
await app.server.listen({ host: '127.0.0.1', port: 0 });
t.teardown(() => app.server.close());
const port = (app.server.server.address() as { port: number }).port;
const https = app.server.server as import('node:https').Server;
const dispatcher = new Agent({ connect: { ca: certs.caPem }, connections: 64 });
t.teardown(() => dispatcher.close());
const sockets = new Set<TLSSocket>();
t.teardown(() => {
  for (const s of sockets) s.destroy();
});

const reviewBody = (uid: string) => JSON.stringify(reviewFor(podObject([{ name: 'app', image: 'nginx:1.14.2', command: ['/app'] }]), { uid }));

/** `count` reviews, one every `everyMs`; each checked (200, AdmissionReview, uid) and timed. */
async function reviewsMeanwhile(prefix: string, count: number, everyMs: number) {
  const results: Array<{ ok: boolean; ms: number; detail: string }> = [];
  const pending: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const uid = `${prefix}-${i}`;
    const started = performance.now();
    pending.push(
      request(`https://127.0.0.1:${port}/validate?timeout=10s`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: reviewBody(uid) })
        .then(async (res) => {
          const json = (await res.body.json()) as { kind?: string; response?: { uid?: string; allowed?: boolean } };
          const ok = res.statusCode === 200 && json.kind === 'AdmissionReview' && json.response?.uid === uid && typeof json.response.allowed === 'boolean';
          results.push({ ok, ms: performance.now() - started, detail: `${res.statusCode} ${JSON.stringify(json).slice(0, 120)}` });
        })
        .catch((err: unknown) => void results.push({ ok: false, ms: performance.now() - started, detail: String(err) })),
    );
    if (everyMs > 0) await new Promise((r) => setTimeout(r, everyMs));
  }
  await Promise.all(pending);
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  return { answered: results.filter((r) => r.ok).length, failures: results.filter((r) => !r.ok).map((r) => r.detail), p50: ms[Math.floor(ms.length / 2)]!, max: ms[ms.length - 1]! };
}

/** A raw TLS client; resolves with the status line the server sent (or how the socket ended) and when. */
function rawClient(send: (s: TLSSocket) => void): { done: Promise<{ status: string; ms: number }>; socket: TLSSocket } {
  const started = performance.now();
  const socket = connect({ host: '127.0.0.1', port, ca: certs.caPem, servername: 'localhost' });
  sockets.add(socket);
  let firstLine = '';
  const done = new Promise<{ status: string; ms: number }>((resolve) => {
    const finish = (status: string) => resolve({ status: firstLine || status, ms: performance.now() - started });
    socket.on('data', (d: Buffer) => {
      if (!firstLine) firstLine = d.toString('latin1').split('\r\n')[0] ?? '';
    });
    socket.on('close', () => finish('closed without an answer'));
    socket.on('error', (e: NodeJS.ErrnoException) => finish(`socket error ${e.code ?? e.message}`));
  });
  socket.once('secureConnect', () => send(socket));
  return { done, socket };
}

function head(contentLength: number | 'chunked'): string {
  return (
    `POST /validate?timeout=10s HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
    (contentLength === 'chunked' ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${contentLength}\r\n`) +
    '\r\n'
  );
}

/** Writes `total` bytes of a JSON-looking body as fast as the socket takes them. */
async function pump(socket: TLSSocket, total: number, chunked: boolean): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, 'a');
  let sent = 0;
  const write = (b: Buffer | string) => (socket.destroyed ? true : socket.write(b));
  write(chunked ? `1\r\n{\r\n` : '{');
  sent++;
  while (sent < total && !socket.destroyed) {
    const part = chunk.subarray(0, Math.min(chunk.length, total - sent));
    const ok = write(chunked ? Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')]) : part);
    sent += part.length;
    if (!ok) await new Promise<void>((r) => (socket.destroyed ? r() : socket.once('drain', () => r())));
  }
  if (chunked && !socket.destroyed) write('0\r\n\r\n');
}

t.test('20 MB bodies are refused with 413 while concurrent reviews are answered', async (t) => {
  const rssBefore = process.memoryUsage().rss;
  const big = [
    ...Array.from({ length: 3 }, () => rawClient((s) => void (s.write(head(BIG)), pump(s, BIG, false)))),
    ...Array.from({ length: 2 }, () => rawClient((s) => void (s.write(head('chunked')), pump(s, BIG, true)))),
  ];
  const meanwhile = await reviewsMeanwhile('big', 100, 10);
  const outcomes = await Promise.all(big.map((b) => b.done));
  for (const b of big) b.socket.destroy();
  for (const [i, o] of outcomes.entries()) {
    t.match(o.status, /^HTTP\/1\.1 413 /, `20 MB body #${i + 1} (${i < 3 ? 'Content-Length' : 'chunked'}): ${o.status} after ${o.ms.toFixed(0)} ms`);
  }
  t.equal(meanwhile.answered, 100, `the 100 concurrent reviews were answered (p50 ${meanwhile.p50.toFixed(0)} ms, max ${meanwhile.max.toFixed(0)} ms): ${meanwhile.failures.slice(0, 2).join('; ')}`);
  t.ok(meanwhile.max < 3000, 'none of them waited past its deadline');
  t.comment(`RSS ${((process.memoryUsage().rss - rssBefore) / 1048576).toFixed(0)} MB higher after five 20 MB uploads (body limit ${config.server.bodyLimitBytes} bytes)`);
});

t.test('clients that send their body a byte at a time are cut off; reviews meanwhile are answered', async (t) => {
  const requestTimeout = https.requestTimeout;
  t.ok(requestTimeout > 0, `the server has a request timeout (${requestTimeout} ms)`);
  const started = performance.now();
  const slow = Array.from({ length: SLOW_CLIENTS }, () =>
    rawClient((s) => {
      s.write(head(4096));
      const timer = setInterval(() => (s.destroyed ? clearInterval(timer) : s.write('{')), 200);
      s.once('close', () => clearInterval(timer));
    }),
  );
  const meanwhile = await reviewsMeanwhile('slow', 100, 30);
  t.equal(meanwhile.answered, 100, `100 reviews answered while ${SLOW_CLIENTS} clients trickled (p50 ${meanwhile.p50.toFixed(0)} ms, max ${meanwhile.max.toFixed(0)} ms): ${meanwhile.failures.slice(0, 2).join('; ')}`);
  t.ok(meanwhile.max < 3000, 'none of them waited past its deadline');

  // The server must end each trickling request at its request timeout (Node answers 408 and
  // closes). Wait at most that long plus 3 s.
  const bound = requestTimeout + 3000 - (performance.now() - started);
  const outcome = await Promise.race([
    Promise.all(slow.map((c) => c.done)).then((all) => ({ all })),
    new Promise<{ all: undefined }>((r) => setTimeout(() => r({ all: undefined }), Math.max(0, bound))),
  ]);
  const stillOpen = slow.filter((c) => !c.socket.destroyed && !c.socket.readableEnded).length;
  t.ok(outcome.all !== undefined, `every trickling client was cut off within the ${requestTimeout} ms request timeout (+3 s): ${stillOpen} of ${SLOW_CLIENTS} still open after ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (outcome.all) {
    const worst = Math.max(...outcome.all.map((o) => o.ms));
    t.comment(`cut off after ${(worst / 1000).toFixed(1)} s at most: ${[...new Set(outcome.all.map((o) => o.status))].join(', ')}`);
  }
  for (const c of slow) c.socket.destroy();

  const health = await request(`https://127.0.0.1:${port}/healthz`, { dispatcher });
  t.equal(health.statusCode, 200, '/healthz 200 afterwards');
  await health.body.dump();
});
