// Issue 16's cases, through the webhook over real HTTPS and through the CLI, with the images in a
// real registry (CNCF Distribution) standing in for Docker Hub and as a private registry:
// what the person reads must match what the kubelet and the Job controller will do.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { reviewFor } from '../../src/admission/review.js';
import { MAX_WARNING_CHARS } from '../../src/admission/verdict.js';
import { serve } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config/load.js';
import { generateCertificates } from '../../src/tls/dev-certs.js';
import { runCli } from '../helpers/cli.js';
import { pushExampleImages } from '../helpers/image-fixtures.js';
import { startRegistry } from '../helpers/registry.js';

const registry = await startRegistry({ auth: 'none' });
t.teardown(() => registry.stop());
await pushExampleImages(registry);

const dir = mkdtempSync(join(tmpdir(), 'bg-consequence-'));
const certs = await generateCertificates({ dir });
const local = { caFile: registry.caFile, allowPrivateNetwork: true };
const document = {
  server: { host: '127.0.0.1', port: 0, tls: { certFile: certs.certFile, keyFile: certs.keyFile, generateDevCertificates: false } },
  admission: { budgetMs: 8000 },
  registry: { timeoutMs: 5000, hosts: { 'docker.io': { server: registry.url, ...local }, [registry.host]: local } },
  kubernetes: { enabled: 'off' },
  log: { level: 'silent' },
};
const server = await serve({ config: loadConfig({ document }), logger: pino({ level: 'silent' }) });
t.teardown(() => server.close());
const warnServer = await serve({ config: loadConfig({ document: { ...document, admission: { ...document.admission, defaultMode: 'warn' } } }), logger: pino({ level: 'silent' }) });
t.teardown(() => warnServer.close());
const dispatcher = new Agent({ connect: { ca: certs.caPem } });
t.teardown(() => dispatcher.close());

const configFile = join(dir, 'config.yaml');
writeFileSync(configFile, stringify({ registry: document.registry, kubernetes: document.kubernetes }));

interface Answer {
  allowed: boolean;
  status?: { message?: string };
  warnings?: string[];
}
async function admit(object: Record<string, unknown>, port = server.port): Promise<Answer> {
  const res = await request(`https://127.0.0.1:${port}/validate`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: JSON.stringify(reviewFor(object)) });
  const body = (await res.body.json()) as { response: Answer };
  return body.response;
}
async function check(object: Record<string, unknown>): Promise<{ code: number | null; stdout: string }> {
  return runCli(['check', '--config', configFile, '-f', '-'], { stdin: stringify(object) });
}

const meta = { name: 'demo', namespace: 'default' };
const template = (spec: Record<string, unknown>) => ({ metadata: { labels: { app: 'demo' } }, spec });
const cronJob = (spec: Record<string, unknown>) => ({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: meta, spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: template(spec) } } } });
const job = (spec: Record<string, unknown>) => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: meta, spec: { template: template(spec) } });
const pod = (spec: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: meta, spec });
const deployment = (spec: Record<string, unknown>) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta, spec: { selector: { matchLabels: { app: 'demo' } }, template: template(spec) } });

t.test('cd /tmp in nginx:1.14.2 (no cd anywhere on PATH): denied with the exec error, whatever the restart policy', async (t) => {
  const spec = { restartPolicy: 'Never', containers: [{ name: 'tidy', image: 'nginx:1.14.2', command: ['cd', '/tmp'] }] };
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['CronJob', cronJob(spec), 'the pod ends Failed (StartError); the Job retries with new pods until BackoffLimitExceeded (backoffLimit 6)'],
    ['Job', job(spec), 'the pod ends Failed (StartError); the Job retries with new pods until BackoffLimitExceeded (backoffLimit 6)'],
    ['Pod Never', pod(spec), 'the pod ends Failed (StartError) and is never restarted'],
  ];
  for (const [name, object, consequence] of cases) {
    const r = await admit(object);
    t.equal(r.allowed, false, `${name}: denied`);
    const m = r.status?.message ?? '';
    t.match(m, '[command-sanity] container "tidy": command "cd" is a shell builtin and the image has no such file: the runtime fails with exec: "cd": executable file not found in $PATH', name);
    t.match(m, consequence, `${name}: ${m}`);
    t.notMatch(m, /CrashLoopBackOff/, `${name}: a pod that is never restarted does not loop`);
    t.match(m, 'fix: set workingDir: "/tmp" and make command the program to run there');
    const cli = await check(object);
    t.equal(cli.code, 1, `${name}: the CLI fails too`);
    t.match(cli.stdout, /^DENY .*\[command-sanity\] container "tidy": command "cd" is a shell builtin and the image has no such file/m);
  }
});

t.test('a Job with restartPolicy Never whose program cannot start: BackoffLimitExceeded, never CrashLoopBackOff', async (t) => {
  const cases: Array<[string, Record<string, unknown>, string, string]> = [
    ['exit 1 on busybox', { name: 'c', image: 'busybox:1.36', command: ['exit', '1'] }, 'command-sanity', 'exec: "exit": executable file not found in $PATH'],
    ['bash on alpine', { name: 'c', image: 'alpine:3.20', command: ['bash', '-c', 'echo hi'] }, 'executable-present', 'exec: "bash": executable file not found in $PATH'],
    ['a missing /usr/local/bin/app', { name: 'c', image: 'alpine:3.20', command: ['/usr/local/bin/app'] }, 'executable-present', 'stat /usr/local/bin/app: no such file or directory'],
  ];
  for (const [name, container, id, words] of cases) {
    const object = { ...job({ restartPolicy: 'Never', containers: [container] }), spec: { backoffLimit: 2, template: template({ restartPolicy: 'Never', containers: [container] }) } };
    const r = await admit(object);
    t.equal(r.allowed, false, name);
    const m = r.status?.message ?? '';
    t.match(m, `[${id}] container "c": `, name);
    t.match(m, words, name);
    t.match(m, 'the pod ends Failed (StartError); the Job retries with new pods until BackoffLimitExceeded (backoffLimit 2)', `${name}: ${m}`);
    t.notMatch(m, /CrashLoopBackOff/, name);
    const cli = await check(object);
    t.equal(cli.code, 1, name);
    t.match(cli.stdout, 'BackoffLimitExceeded (backoffLimit 2)', name);
  }
});

t.test('sleep 3600 under Always: the kubelet restarts it without back-off, so no finding', async (t) => {
  const r = await admit(deployment({ containers: [{ name: 'c', image: 'busybox:1.36', command: ['sleep', '3600'] }] }));
  t.equal(r.allowed, true);
  t.same(r.warnings ?? [], [], 'no warning');
  const short = await admit(deployment({ containers: [{ name: 'c', image: 'busybox:1.36', command: ['sleep', '30'] }] }));
  t.equal(short.allowed, false, 'half a minute: the back-off grows, CrashLoopBackOff');
  t.match(short.status?.message, 'ends after about 30 s');
  t.match(short.status?.message, 'Completed, then CrashLoopBackOff');
  const cli = await check(deployment({ containers: [{ name: 'c', image: 'busybox:1.36', command: ['sleep', '3600'] }] }));
  t.equal(cli.code, 0);
  t.match(cli.stdout, /^1 object checked: 0 would be denied, 0 warnings$/m);
});

t.test('warn mode with a long image name: the check id, what happens and the fix fit in 256 characters', async (t) => {
  const image = `${registry.host}/platform-team/storefront/web-frontend-service/ngiinx:1.14.2-alpine-build.20261205`;
  const r = await admit(pod({ containers: [{ name: 'web-frontend-service-container', image }] }), warnServer.port);
  t.equal(r.allowed, true, 'warn mode allows');
  const w = (r.warnings ?? []).find((x) => x.startsWith('[image-exists]')) ?? '';
  t.ok(Array.from(w).length <= MAX_WARNING_CHARS, `${Array.from(w).length} runes: ${w}`);
  t.match(w, /^\[image-exists\] would be denied \(warn mode\): container "web-frontend-service-container": image "/);
  t.match(w, '(ErrImagePull, then ImagePullBackOff); fix: correct the image name or tag');
  t.match(w, /build\.20261205"/, 'the end of the image (its tag) is kept');
});

t.test('a misspelled repository in a private registry: did you mean, from its catalog', async (t) => {
  const object = pod({ containers: [{ name: 'web', image: `${registry.host}/library/ngiinx:1.14.2` }] });
  const r = await admit(object);
  t.equal(r.allowed, false);
  t.match(r.status?.message, `did you mean "${registry.host}/library/nginx:1.14.2"?`);
  const cli = await check(object);
  t.equal(cli.code, 1);
  t.match(cli.stdout, `did you mean "${registry.host}/library/nginx:1.14.2"?`);
});
