// Registry faults, end to end over real HTTPS: each broken registry gives the documented verdict
// (README "What it checks": unreachable, timed out, 5xx, untrusted certificate -> warning "could
// not verify", allowed; 429 -> warning, allowed) within the deadline, all of them at once, and
// the webhook stays healthy afterwards (/healthz, /readyz, a review against a real registry,
// no unhandled rejection).
//
// The API server calls with ?timeout=2s, so the review's deadline is 1.5 s (2 s minus a quarter,
// src/admission/deadline.ts) and the route's hard stop 250 ms later; every answer must come
// before the API server gives up at 2 s.
import t, { type Test } from 'tap';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { reviewFor } from '../../src/admission/review.js';
import { serve } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config/load.js';
import { generateCertificates, type GeneratedCertificates } from '../../src/tls/dev-certs.js';
import { startStatusServer, type TestServer } from '../helpers/hanging-server.js';
import { freePort } from '../helpers/ports.js';
import { seedStandardFixtures } from '../helpers/registry-fixtures.js';
import { startRegistry } from '../helpers/registry.js';
import { podObject } from '../helpers/workloads.js';

const API_SERVER_TIMEOUT_MS = 2000;
const DEADLINE_MS = 1500;
const HARD_STOP_SLACK_MS = 250;

let unhandled = 0;
const onUnhandled = () => void unhandled++;
process.on('unhandledRejection', onUnhandled);
t.teardown(() => void process.removeListener('unhandledRejection', onUnhandled));

/** An HTTPS server on 127.0.0.1 whose handler misbehaves; stop() destroys open sockets first. */
async function startFaultServer(certs: GeneratedCertificates, handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void): Promise<{ host: string; requests: () => number; stop: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let requests = 0;
  const server: Server = createServer({ cert: certs.certPem, key: certs.keyPem }, (req, res) => {
    requests++;
    handler(req, res);
  });
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as { port: number };
  return {
    host: `127.0.0.1:${addr.port}`,
    requests: () => requests,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const faultCerts = await generateCertificates({ dir: mkdtempSync(join(tmpdir(), 'bg-faults-')), hosts: ['127.0.0.1', 'localhost'] });

// Answers the registry ping, then sends the headers of every other answer and never its body.
const hangAfterHeaders = await startFaultServer(faultCerts, (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': '4096', 'docker-distribution-api-version': 'registry/2.0' });
  res.flushHeaders();
});
t.teardown(() => hangAfterHeaders.stop());
// Same, with a registry timeout longer than the review's deadline: the deadline must cut it.
const hangPastDeadline = await startFaultServer(faultCerts, (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': '4096' });
  res.flushHeaders();
});
t.teardown(() => hangPastDeadline.stop());
// A registry that answers the ping, says the manifest exists without a digest (so the client
// GETs it), and cuts the GET's body short.
const truncated = await startFaultServer(faultCerts, (req, res) => {
  const api = { 'docker-distribution-api-version': 'registry/2.0' };
  if (req.url === '/v2/') {
    res.writeHead(200, { ...api, 'content-type': 'application/json', 'content-length': '2' });
    res.end('{}');
    return;
  }
  res.writeHead(200, { ...api, 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': '2000' });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  res.write('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":');
  setTimeout(() => res.socket?.destroy(), 20);
});
t.teardown(() => truncated.stop());

const statusServers: Record<string, TestServer> = {};
for (const [name, status, headers] of [
  ['500', 500, {}],
  ['502', 502, {}],
  ['503', 503, {}],
  ['429', 429, { 'retry-after': '120' }],
] as const) {
  statusServers[name] = await startStatusServer({ status, headers, certs: faultCerts, body: status === 429 ? { errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] } : { errors: [{ code: 'UNAVAILABLE', message: 'down' }] } });
  t.teardown(() => statusServers[name]!.stop());
}
// A certificate from a CA nobody configured.
const untrusted = await startStatusServer({ status: 200, body: {} });
t.teardown(() => untrusted.stop());
const refusedHost = `127.0.0.1:${await freePort()}`;

const registry = await startRegistry({ auth: 'none' });
t.teardown(() => registry.stop());
await seedStandardFixtures(registry);

const local = { caFile: faultCerts.caFile, allowPrivateNetwork: true };
const webhookCerts = await generateCertificates({ dir: mkdtempSync(join(tmpdir(), 'bg-faults-webhook-')), hosts: ['127.0.0.1', 'localhost'] });
const config = loadConfig({
  document: {
    server: { host: '127.0.0.1', port: 0, tls: { certFile: webhookCerts.certFile, keyFile: webhookCerts.keyFile, generateDevCertificates: false } },
    admission: { budgetMs: 3000 },
    registry: {
      timeoutMs: 1000,
      hosts: {
        [registry.host]: { caFile: registry.caFile, allowPrivateNetwork: true },
        [refusedHost]: { allowPrivateNetwork: true },
        [hangAfterHeaders.host]: local,
        [hangPastDeadline.host]: { ...local, timeoutMs: 20_000 },
        [truncated.host]: local,
        [statusServers['500']!.host]: local,
        [statusServers['502']!.host]: local,
        [statusServers['503']!.host]: local,
        [statusServers['429']!.host]: local,
        [untrusted.host]: { allowPrivateNetwork: true },
      },
    },
    kubernetes: { enabled: 'off' },
    log: { level: 'warn' },
  },
});
const server = await serve({ config, logger: pino({ level: 'silent' }) });
t.teardown(() => server.close());
const base = `https://127.0.0.1:${server.port}`;
const dispatcher = new Agent({ connect: { ca: webhookCerts.caPem }, connections: 32 });
t.teardown(() => dispatcher.close());

async function review(image: string, uid: string) {
  const started = performance.now();
  const res = await request(`${base}/validate?timeout=2s`, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(reviewFor(podObject([{ name: 'app', image, command: ['/app'] }]), { uid })),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: JSON.parse(text) as { apiVersion: string; kind: string; response: { uid: string; allowed: boolean; warnings?: string[]; status?: { message: string } } }, ms: performance.now() - started };
}

const image = (host: string, tag: string) => `${host}/team/app:${tag}`;
// [what the registry does, its host, the warning, what the warning must mention]
const cases: Array<[name: string, host: string, verdict: RegExp, mentions: 'image' | 'host']> = [
  ['refuses connections', refusedHost, /could not verify image "[^"]+": \S+ refused the connection \(ECONNREFUSED\)/, 'image'],
  ['hangs after the headers (registry timeout)', hangAfterHeaders.host, /could not verify image "[^"]+": \S+ did not answer in time/, 'image'],
  ['hangs after the headers past the deadline', hangPastDeadline.host, /could not verify image "[^"]+" in time \(image-exists\); allowed unchecked/, 'image'],
  ['sends a truncated body', truncated.host, /could not verify image "[^"]+": \S+ /, 'image'],
  ['answers 500', statusServers['500']!.host, /could not verify image "[^"]+": \S+ answered HTTP 500/, 'image'],
  ['answers 502', statusServers['502']!.host, /could not verify image "[^"]+": \S+ answered HTTP 502/, 'image'],
  ['answers 503', statusServers['503']!.host, /could not verify image "[^"]+": \S+ answered HTTP 503/, 'image'],
  ['answers 429', statusServers['429']!.host, /is rate[- ]limiting pulls/, 'host'],
  ['presents an untrusted certificate', untrusted.host, /could not verify image "[^"]+": \S+ presented a certificate that is not trusted/, 'image'],
];
const uidFor = (phase: string, name: string) => `${phase}-${name.replace(/\W+/g, '-')}`;

function checkAnswer(t: Test, r: Awaited<ReturnType<typeof review>>, uid: string, verdict: RegExp, mention: string): void {
  t.equal(r.status, 200, 'HTTP 200');
  t.equal(r.json.apiVersion, 'admission.k8s.io/v1');
  t.equal(r.json.kind, 'AdmissionReview');
  t.equal(r.json.response.uid, uid, 'the uid is echoed');
  t.equal(r.json.response.allowed, true, 'allowed: a registry problem never blocks a deployment');
  const warnings = r.json.response.warnings ?? [];
  t.ok(
    warnings.some((w) => verdict.test(w) && w.includes(mention)),
    `a warning says so: ${verdict} in ${JSON.stringify(warnings)}`,
  );
  t.ok(r.ms < DEADLINE_MS + HARD_STOP_SLACK_MS, `answered in ${r.ms.toFixed(0)} ms, within the ${DEADLINE_MS} ms deadline (+${HARD_STOP_SLACK_MS} ms hard-stop slack)`);
  t.ok(r.ms < API_SERVER_TIMEOUT_MS, `before the API server's ${API_SERVER_TIMEOUT_MS} ms timeout`);
}

t.test('each registry fault, one at a time, gives its documented verdict within the deadline', async (t) => {
  for (const [name, host, verdict, mentions] of cases) {
    const uid = uidFor('alone', name);
    const r = await review(image(host, '1.0'), uid);
    t.test(`a registry that ${name}`, async (t) => checkAnswer(t, r, uid, verdict, mentions === 'image' ? image(host, '1.0') : host));
  }
  t.ok(hangAfterHeaders.requests() > 0 && hangPastDeadline.requests() > 0 && truncated.requests() > 0, 'the misbehaving servers were really asked');
  t.ok(statusServers['500']!.requests.length > 0 && statusServers['429']!.requests.length > 0, 'the status servers were really asked');
});

t.test('all the faults at once: the same verdicts, still within the deadline', async (t) => {
  const answers = await Promise.all(cases.map(([name, host]) => review(image(host, '2.0'), uidFor('together', name))));
  for (const [i, [name, host, verdict, mentions]] of cases.entries()) {
    t.test(`a registry that ${name}`, async (t) => checkAnswer(t, answers[i]!, uidFor('together', name), verdict, mentions === 'image' ? image(host, '2.0') : host));
  }
});

t.test('an untrusted certificate is named by its TLS error, not by a piece of the URL', async (t) => {
  const r = await review(image(untrusted.host, '3.0'), 'tls-reason');
  const w = (r.json.response.warnings ?? []).find((x) => x.includes('not trusted')) ?? '';
  t.match(w, /not trusted \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|[a-z][^)]*certificate[^)]*)\)/, w);
  t.notMatch(w, /\/v2\/|\]\)/, 'no URL fragment in the reason');
});

t.test('the webhook stays healthy afterwards', async (t) => {
  for (const path of ['/healthz', '/readyz']) {
    const res = await request(`${base}${path}`, { dispatcher });
    t.equal(res.statusCode, 200, `${path} 200`);
    await res.body.dump();
  }
  const good = await review(`${registry.host}/team/app:1.0`, 'healthy-after');
  t.equal(good.status, 200);
  t.equal(good.json.response.uid, 'healthy-after');
  t.equal(good.json.response.allowed, true, 'an image that exists on a working registry is allowed');
  t.notOk((good.json.response.warnings ?? []).some((w) => /could not verify image/.test(w)), `the working registry was asked: ${JSON.stringify(good.json.response.warnings ?? [])}`);
  const missing = await review(`${registry.host}/team/app:9.9`, 'healthy-missing');
  t.equal(missing.json.response.allowed, false, 'a missing tag on the working registry is still denied');
  t.equal(unhandled, 0, 'no unhandled promise rejection in the process');
});
