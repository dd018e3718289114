// The Fastify server of src/http/server.ts on its own, over real HTTPS, with a review function the
// test controls: keep-alive while ready, `Connection: close` on every answer while draining
// (requests that arrive then, and a review that was in flight when draining began).
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { allowResponse, reviewFor } from '../../src/admission/review.js';
import { loadConfig } from '../../src/config/load.js';
import type { ReviewOutcome } from '../../src/admission/handle-review.js';
import { buildServer } from '../../src/http/server.js';
import { generateCertificates } from '../../src/tls/dev-certs.js';
import { podObject } from '../helpers/workloads.js';

const certs = await generateCertificates({ dir: mkdtempSync(join(tmpdir(), 'bg-http-server-')), hosts: ['127.0.0.1'] });
const config = loadConfig({ document: { kubernetes: { enabled: 'off' } } });
let ready = true;
let hold: Promise<void> | undefined;
const app = buildServer({
  config,
  logger: pino({ level: 'silent' }),
  tls: { key: certs.keyPem, cert: certs.certPem },
  ready: () => ready,
  review: async (review): Promise<ReviewOutcome> => {
    if (hold) await hold;
    return { response: allowResponse(review.request.uid), mode: 'enforce', findings: [], timedOut: 0 };
  },
});
await app.listen({ host: '127.0.0.1', port: 0 });
t.teardown(() => app.close());
const base = `https://127.0.0.1:${(app.server.address() as { port: number }).port}`;
const dispatcher = new Agent({ connect: { ca: certs.caPem } });
t.teardown(() => dispatcher.close());

const body = (uid: string) => JSON.stringify(reviewFor(podObject([{ name: 'app', image: 'nginx:1.14.2' }]), { uid }));
async function validate(uid: string) {
  const res = await request(`${base}/validate?timeout=10s`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: body(uid) });
  const json = (await res.body.json()) as { response?: { uid?: string; allowed?: boolean } };
  return { status: res.statusCode, connection: res.headers.connection, uid: json.response?.uid, allowed: json.response?.allowed };
}

t.test('while ready: answers keep the connection alive', async (t) => {
  ready = true;
  const r = await validate('ready-1');
  t.same({ status: r.status, uid: r.uid, allowed: r.allowed }, { status: 200, uid: 'ready-1', allowed: true });
  t.equal(r.connection, 'keep-alive', 'Connection: keep-alive');
  const health = await request(`${base}/healthz`, { dispatcher });
  await health.body.dump();
  t.equal(health.headers.connection, 'keep-alive', '/healthz keeps it alive too');
});

t.test('while draining: every answer closes its connection, reviews are still answered', async (t) => {
  ready = false;
  t.teardown(() => void (ready = true));
  const r = await validate('draining-1');
  t.same({ status: r.status, uid: r.uid, allowed: r.allowed }, { status: 200, uid: 'draining-1', allowed: true }, 'the review is answered');
  t.equal(r.connection, 'close', 'Connection: close on /validate');
  for (const path of ['/healthz', '/readyz', '/nope']) {
    const res = await request(`${base}${path}`, { dispatcher });
    await res.body.dump();
    t.equal(res.headers.connection, 'close', `Connection: close on ${path} (${res.statusCode})`);
  }
});

t.test('a review in flight when draining begins: its answer closes the connection', async (t) => {
  ready = true;
  t.teardown(() => void (ready = true));
  let release!: () => void;
  hold = new Promise<void>((r) => (release = r));
  t.teardown(() => void (hold = undefined));
  const pending = validate('in-flight-1');
  await new Promise((r) => setTimeout(r, 200)); // arrived while ready, now waiting in the review
  ready = false;
  release();
  const r = await pending;
  t.same({ status: r.status, uid: r.uid, allowed: r.allowed }, { status: 200, uid: 'in-flight-1', allowed: true });
  t.equal(r.connection, 'close', 'Connection: close, though the request arrived while ready');
});
