// The webhook end to end over real HTTPS, against a real registry (CNCF Distribution) that
// stands in for Docker Hub through `registry.hosts.docker.io.server`, and a registry that hangs.
import t from 'tap';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { parse as parseYaml } from 'yaml';
import { reviewFor } from '../../src/admission/review.js';
import { serve } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config/load.js';
import { generateCertificates } from '../../src/tls/dev-certs.js';
import { startHangingServer } from '../helpers/hanging-server.js';
import { deleteManifest, seedStandardFixtures } from '../helpers/registry-fixtures.js';
import { startRegistry } from '../helpers/registry.js';
import { deploymentObject, podObject } from '../helpers/workloads.js';

const registry = await startRegistry({ auth: 'none' });
t.teardown(() => registry.stop());
const fixtures = await seedStandardFixtures(registry);
const hanging = await startHangingServer();
t.teardown(() => hanging.stop());

const certs = await generateCertificates({ dir: mkdtempSync(join(tmpdir(), 'bg-webhook-')) });
const logLines: Array<Record<string, unknown>> = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
      cb();
    },
  }),
);

const local = { caFile: registry.caFile, allowPrivateNetwork: true };
const config = loadConfig({
  document: {
    server: { host: '127.0.0.1', port: 0, tls: { certFile: certs.certFile, keyFile: certs.keyFile, generateDevCertificates: false } },
    admission: { budgetMs: 3000, exemptNamespaces: ['kube-system', 'backoff-guard'] },
    registry: {
      timeoutMs: 2000,
      hosts: {
        'docker.io': { server: registry.url, ...local },
        [registry.host]: local,
        [hanging.host]: { caFile: hanging.caFile, allowPrivateNetwork: true, timeoutMs: 20_000 },
      },
    },
    kubernetes: { enabled: 'off' },
    log: { level: 'info' },
  },
});
const server = await serve({ config, logger });
t.teardown(() => server.close());
const dispatcher = new Agent({ connect: { ca: certs.caPem } });
t.teardown(() => dispatcher.close());
const base = `https://127.0.0.1:${server.port}`;

async function post(body: unknown, opts: { query?: string; raw?: string; contentType?: string } = {}) {
  const res = await request(`${base}/validate${opts.query ?? '?timeout=10s'}`, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': opts.contentType ?? 'application/json' },
    body: opts.raw ?? JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: JSON.parse(text) as any };
}

const review = (object: Record<string, unknown>, opts: Parameters<typeof reviewFor>[1] = {}) => post(reviewFor(object, opts));
const example = (name: string) => parseYaml(readFileSync(new URL(`../../examples/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

t.test('the seed examples are denied with their reasons and hints', async (t) => {
  for (const name of ['pod-typo-in-name.yaml', 'deployment-typo-in-name.yaml']) {
    const r = await review(example(name), { uid: `uid-${name}` });
    t.equal(r.status, 200);
    t.equal(r.json.apiVersion, 'admission.k8s.io/v1');
    t.equal(r.json.kind, 'AdmissionReview');
    t.equal(r.json.response.uid, `uid-${name}`, 'the uid is echoed');
    t.equal(r.json.response.allowed, false, name);
    t.equal(r.json.response.status.code, 403);
    t.equal(r.json.response.status.reason, 'Forbidden');
    t.match(r.json.response.status.message, 'container "nginx": image "ngiinx:1.14.2" not found: the repository does not exist');
    t.match(r.json.response.status.message, 'did you mean "nginx:1.14.2"?');
  }
  for (const name of ['pod-crashloopbackoff.yaml', 'deployment-crashloopbackoff.yaml']) {
    const r = await review(example(name));
    t.equal(r.json.response.allowed, false, name);
    t.match(r.json.response.status.message, '[command-sanity] container "app": command "exit" is a shell builtin');
    t.match(r.json.response.status.message, 'exec: "exit": executable file not found in $PATH');
    t.match(r.json.response.status.message, 'command: ["sh", "-c", "exit 1"]');
    t.equal(r.json.response.warnings, undefined, 'busybox:1.36 exists: no warning');
  }
});

t.test('an image that exists is allowed without a warning', async (t) => {
  const r = await review(example('pod-ok.yaml'));
  t.same(r.json.response, { uid: r.json.response.uid, allowed: true });
});

const withPodSpec = (kind: string, image: string): Record<string, unknown> => {
  const spec = { containers: [{ name: 'app', image }] };
  const template = { metadata: { labels: { app: 'x' } }, spec };
  const objects: Record<string, Record<string, unknown>> = {
    Pod: podObject([{ name: 'app', image }]),
    Deployment: deploymentObject([{ name: 'app', image }]),
    ReplicaSet: { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'x' }, spec: { template } },
    StatefulSet: { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'x' }, spec: { template } },
    DaemonSet: { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'x' }, spec: { template } },
    ReplicationController: { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'x' }, spec: { template } },
    Job: { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'x' }, spec: { template: { spec: { ...spec, restartPolicy: 'Never' } } } },
    CronJob: { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'x' }, spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: { ...spec, restartPolicy: 'Never' } } } } } },
  };
  return objects[kind]!;
};

t.test('every workload kind: a missing tag is denied with the closest tag, a present one allowed', async (t) => {
  for (const kind of ['Pod', 'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'ReplicationController', 'Job', 'CronJob']) {
    const bad = await review(withPodSpec(kind, `${registry.host}/library/nginx:1.14.3`));
    t.equal(bad.json.response.allowed, false, `${kind} with a missing tag is denied`);
    t.match(bad.json.response.status.message, `tag "1.14.3" does not exist; the pull fails with "failed to resolve reference ${registry.host}/library/nginx:1.14.3: not found"`, kind);
    t.match(bad.json.response.status.message, `did you mean "${registry.host}/library/nginx:1.14.2"`, kind);
    const good = await review(withPodSpec(kind, `${registry.host}/team/app:1.0`));
    t.same(good.json.response.allowed, true, `${kind} with an existing image is allowed`);
    t.equal(good.json.response.warnings, undefined, kind);
  }
});

t.test('init and ephemeral containers are checked too', async (t) => {
  const pod = podObject([{ name: 'main', image: 'nginx:1.14.2' }], {
    initContainers: [{ name: 'setup', image: 'busybox:1.36', command: ['cd', '/data'] }],
    ephemeralContainers: [{ name: 'debug', image: 'busybox:9.9' }],
  });
  const r = await review(pod);
  t.equal(r.json.response.allowed, false);
  t.match(r.json.response.status.message, 'container "setup": command "cd" is a shell builtin');
  t.match(r.json.response.status.message, 'container "debug": image "busybox:9.9" not found');
});

t.test('a registry that hangs: allowed with a warning, within the deadline', async (t) => {
  const started = Date.now();
  const r = await review(podObject([{ name: 'app', image: `${hanging.host}/team/app:1` }]), {});
  const elapsed = Date.now() - started;
  t.equal(r.json.response.allowed, true);
  t.ok(elapsed < 3000 + 1000, `answered in ${elapsed} ms (budget 3000 ms)`);
  t.equal(r.json.response.warnings.length, 1);
  t.match(r.json.response.warnings[0], `container "app": could not verify image "${hanging.host}/team/app:1" in time (image-exists); allowed unchecked`);
});

t.test("the API server's timeout parameter shortens the deadline", async (t) => {
  const started = Date.now();
  const r = await post(reviewFor(podObject([{ name: 'app', image: `${hanging.host}/team/other:2` }])), { query: '?timeout=1s' });
  const elapsed = Date.now() - started;
  t.equal(r.json.response.allowed, true);
  t.ok(elapsed < 1000, `answered in ${elapsed} ms, inside the API server's 1s`);
});

t.test('UPDATE: scaling a workload whose image vanished is allowed; changing the image to a typo is denied', async (t) => {
  const { pushImage } = await import('../helpers/registry-fixtures.js');
  const pushed = await pushImage(registry, { repo: 'team/vanishing', tag: '1.0' });
  const before = deploymentObject([{ name: 'app', image: `${registry.host}/team/vanishing:1.0` }]);
  const created = await review(before);
  t.equal(created.json.response.allowed, true, 'created while the image exists');
  await deleteManifest(registry, { repo: 'team/vanishing', digest: pushed.digest });
  const scaled = structuredClone(before) as any;
  scaled.spec.replicas = 5;
  const r = await review(scaled, { operation: 'UPDATE', oldObject: before });
  t.same(r.json.response.allowed, true, 'scaling is never blocked');
  t.equal(r.json.response.warnings, undefined);
  const typo = structuredClone(before) as any;
  typo.spec.template.spec.containers[0].image = 'ngiinx:1.14.2';
  const denied = await review(typo, { operation: 'UPDATE', oldObject: before });
  t.equal(denied.json.response.allowed, false);
  t.match(denied.json.response.status.message, 'image "ngiinx:1.14.2" not found');
});

t.test('dryRun requests get the same verdict', async (t) => {
  const rv = reviewFor(example('pod-typo-in-name.yaml'));
  rv.request.dryRun = true;
  const r = await post(rv);
  t.equal(r.json.response.allowed, false);
});

t.test('exempt namespaces, other kinds and DELETE are allowed untouched', async (t) => {
  const sys = await review(example('pod-crashloopbackoff.yaml'), { namespace: 'kube-system' });
  t.same(sys.json.response.allowed, true);
  t.equal(sys.json.response.warnings, undefined);
  const cm = await review({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { image: 'NGINX' } });
  t.same(cm.json.response.allowed, true);
  const del = await review(example('pod-crashloopbackoff.yaml'), { operation: 'DELETE' });
  t.same(del.json.response.allowed, true);
});

t.test('a skip annotation silences the named check', async (t) => {
  const pod = example('pod-crashloopbackoff.yaml') as any;
  pod.metadata.annotations = { 'backoff-guard.io/skip-checks': 'command-sanity' };
  const r = await review(pod);
  t.same(r.json.response.allowed, true);
});

t.test('malformed reviews get HTTP 400 with a one-line reason', async (t) => {
  const good = reviewFor(example('pod-ok.yaml'));
  const rows: Array<[string, { body?: unknown; raw?: string; contentType?: string }, number, RegExp]> = [
    ['not JSON', { raw: '{"apiVersion":' }, 400, /^invalid AdmissionReview: body is not valid JSON/],
    ['an empty body', { raw: '' }, 400, /^invalid AdmissionReview: body is empty/],
    ['a JSON array', { body: [good] }, 400, /^invalid AdmissionReview: body must be object/],
    ['the wrong apiVersion', { body: { ...good, apiVersion: 'admission.k8s.io/v1beta1' } }, 400, /^invalid AdmissionReview: body\/apiVersion must be equal to constant/],
    ['the wrong kind', { body: { ...good, kind: 'Pod' } }, 400, /^invalid AdmissionReview: body\/kind must be equal to constant/],
    ['no request', { body: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' } }, 400, /must have required property 'request'/],
    ['no uid', { body: { ...good, request: { ...good.request, uid: undefined } } }, 400, /body\/request must have required property 'uid'/],
    ['a numeric uid', { body: { ...good, request: { ...good.request, uid: 42 } } }, 400, /body\/request\/uid must be string/],
    ['an unknown operation', { body: { ...good, request: { ...good.request, operation: 'PATCH' } } }, 400, /body\/request\/operation must be equal to one of the allowed values/],
    ['a string object', { body: { ...good, request: { ...good.request, object: 'pod' } } }, 400, /body\/request\/object must be object,null/],
    ['a text body', { raw: 'hello', contentType: 'text/plain' }, 415, /^unsupported content type "text\/plain"/],
  ];
  for (const [name, input, status, message] of rows) {
    const r = await post(input.body, { ...(input.raw !== undefined ? { raw: input.raw } : {}), ...(input.contentType ? { contentType: input.contentType } : {}) });
    t.equal(r.status, status, name);
    t.match(r.json.error, message, name);
    t.notMatch(r.json.error, /\n/, `${name}: one line`);
  }
});

t.test('a body over the limit is refused with 413, and the server keeps serving', async (t) => {
  const huge = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'x', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', object: { pad: 'x'.repeat(8 * 1024 * 1024) } } });
  const r = await post(undefined, { raw: huge });
  t.equal(r.status, 413);
  t.match(r.json.error, 'AdmissionReview too large: the limit is 7340032 bytes');
  const after = await review(example('pod-ok.yaml'));
  t.same(after.json.response.allowed, true);
});

t.test('fields of the object under review are not coerced or stripped', async (t) => {
  const pod = podObject([{ name: 'app', image: 'nginx:1.14.2' }]) as any;
  pod.spec.containers[0].command = [123];
  const r = await review(pod);
  // Read as the string "123" (a program the image lacks: executable-present), not refused by the envelope.
  t.equal(r.status, 200);
  t.match(r.json.response.status?.message, 'command[0] "123" is not in the image', 'numbers in command are read as strings by the checks, not rejected by the envelope');
});

t.test('health and readiness endpoints answer', async (t) => {
  for (const path of ['/healthz', '/readyz']) {
    const res = await request(`${base}${path}`, { dispatcher });
    t.equal(res.statusCode, 200, path);
    await res.body.dump();
  }
  const nf = await request(`${base}/nope`, { dispatcher });
  t.equal(nf.statusCode, 404);
  t.match(await nf.body.text(), 'the webhook path is POST /validate');
});

t.test('every denial is logged once at info with its uid and verdict', async (t) => {
  const line = logLines.find((l) => l.msg === 'review' && l.uid === 'uid-pod-typo-in-name.yaml');
  t.ok(line, 'the review line is there');
  t.equal(line!.allowed, false);
  t.equal(line!.kind, 'Pod');
  t.same(line!.findings, ['nginx:image-exists:certain']);
});

t.test('a clean allow is counted by the metrics and logged at debug only: no info line per routine review', async (t) => {
  const r = await review(example('pod-ok.yaml'), { uid: 'uid-clean-allow' });
  t.same(r.json.response, { uid: 'uid-clean-allow', allowed: true });
  t.equal(logLines.filter((l) => l.uid === 'uid-clean-allow').length, 0);
});

t.test('registry lookups are cached: a second review of the same images makes no registry call', async (t) => {
  const started = Date.now();
  for (let i = 0; i < 20; i++) await review(example('pod-ok.yaml'));
  t.ok(Date.now() - started < 5000);
  t.ok(fixtures['library/nginx:1.14.2'], 'fixture pushed');
});

t.test('/metrics exposes reviews, findings, latency and lookups in Prometheus format', async (t) => {
  const res = await request(`${base}/metrics`, { dispatcher });
  t.equal(res.statusCode, 200);
  t.match(String(res.headers['content-type']), 'text/plain');
  const text = await res.body.text();
  t.match(text, /^backoff_guard_reviews_total\{kind="Pod",operation="CREATE",verdict="denied"\} [1-9]\d*$/m);
  t.match(text, /^backoff_guard_reviews_total\{kind="Pod",operation="CREATE",verdict="allowed"\} [1-9]\d*$/m);
  t.match(text, /^backoff_guard_findings_total\{check="image-exists",certainty="certain"\} [1-9]\d*$/m);
  t.match(text, /^backoff_guard_findings_total\{check="command-sanity",certainty="certain"\} [1-9]\d*$/m);
  t.match(text, /^backoff_guard_review_duration_seconds_bucket\{le="0\.005",verdict="denied"\} \d+$/m);
  t.match(text, /^backoff_guard_deadline_exceeded_total [1-9]\d*$/m);
  t.match(text, /^backoff_guard_image_lookups_total\{registry="docker\.io",result="found",cache="hit"\} [1-9]\d*$/m);
  t.match(text, /^backoff_guard_process_resident_memory_bytes \d+/m);
  t.match(text, /^backoff_guard_registry_requests_total\{registry="docker\.io",status="200"\} [1-9]\d*$/m);
  t.match(text, /^backoff_guard_registry_requests_total\{registry="[^"]+",status="404"\} [1-9]\d*$/m);
});
