// Issue 13: one audit pass against a real registry (Debian's docker-registry with htpasswd):
// the statuses, the credentials tried in the kubelet's order, and the cost of a pass, counted at
// the registry client's request observer (every request that left the process).
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAuditPass, type AuditedObject } from '../../src/audit/audit-pass.js';
import { readDockerConfigForCheck } from '../../src/cli/docker-config.js';
import { RegistryClient } from '../../src/registry/client.js';
import type { RequestEvent } from '../../src/registry/transport.js';
import { startRegistry } from '../helpers/registry.js';
import { pushImage } from '../helpers/registry-fixtures.js';
import { freePort } from '../helpers/ports.js';

const PASSWORD = 'audit-pass-secret-1';
const reg = await startRegistry({ auth: 'htpasswd', users: { alice: PASSWORD } });
t.teardown(() => reg.stop());
const cred = { username: 'alice', password: PASSWORD };
const IMAGES = 50;
for (let i = 0; i < IMAGES; i++) await pushImage(reg, { repo: `team/app${i}`, tag: '1.0', credential: cred });

const events: RequestEvent[] = [];
const client = new RegistryClient({ hosts: { [reg.host]: { ca: reg.caPem, allowPrivateNetwork: true } }, timeoutMs: 5000, observe: (e) => events.push(e) });
t.teardown(() => client.destroy());

function dockerConfig(password: string): ReturnType<typeof readDockerConfigForCheck> {
  const dir = mkdtempSync(join(tmpdir(), 'bg-audit-'));
  const file = join(dir, 'config.json');
  const auth = Buffer.from(`alice:${password}`).toString('base64');
  writeFileSync(file, JSON.stringify({ auths: { [reg.host]: { auth } } }));
  return readDockerConfigForCheck(file);
}
const good = dockerConfig(PASSWORD);
const wrong = dockerConfig('a-rotated-password-2');
if ('error' in good || 'error' in wrong) throw new Error('docker config fixture');

let uid = 0;
function deployment(name: string, images: string[], namespace = 'prod'): AuditedObject {
  return {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    namespace,
    name,
    uid: `uid-${++uid}`,
    object: { metadata: { name, namespace }, spec: { template: { spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } } } },
  };
}
const manifestHeads = () => events.filter((e) => e.kind === 'manifest' && e.method === 'HEAD').length;

t.test('1,000 workloads over 50 images cost 50 lookups: one HEAD per distinct image, none per workload', async (t) => {
  const workloads = Array.from({ length: 1000 }, (_, i) => deployment(`w${i}`, [`${reg.host}/team/app${i % IMAGES}:1.0`]));
  events.length = 0;
  const r = await runAuditPass(workloads, { registry: client, pullSecrets: good.pullSecrets, concurrency: 4 });
  t.equal(r.workloads, 1000);
  t.equal(r.rows.length, 1000);
  t.equal(r.lookups, IMAGES, 'one lookup per distinct image');
  t.equal(manifestHeads(), IMAGES, 'the registry received exactly 50 manifest HEADs');
  t.equal(events.filter((e) => e.kind === 'manifest' && e.method === 'GET').length, 0, 'no manifest GET (no counted pull)');
  t.ok(r.rows.every((row) => row.status === 'available'), 'every image is available with the right secret');
  t.comment(`measured: 1000 workloads, ${IMAGES} images -> ${r.lookups} lookups, ${manifestHeads()} manifest HEADs, ${events.length} requests in all (ping and token included)`);
});

t.test('a deleted tag is absent; the row names the workload, container and image', async (t) => {
  const r = await runAuditPass([deployment('gone', [`${reg.host}/team/app1:9.9`, `${reg.host}/team/app1:1.0`])], { registry: client, pullSecrets: good.pullSecrets });
  const [absent, ok] = r.rows;
  t.match(absent, { namespace: 'prod', kind: 'Deployment', name: 'gone', container: 'c0', image: `${reg.host}/team/app1:9.9`, status: 'absent' });
  t.match(absent?.detail, /has no manifest 9\.9 in team\/app1 with docker config .*config\.json/);
  t.equal(ok?.status, 'available');
  t.equal(r.lookups, 2);
});

t.test('rotated (wrong) credentials are auth_failed, naming the credential that was refused', async (t) => {
  const r = await runAuditPass([deployment('rotated', [`${reg.host}/team/app2:1.0`])], { registry: client, pullSecrets: wrong.pullSecrets });
  t.equal(r.rows[0]?.status, 'auth_failed');
  t.match(r.rows[0]?.detail, /refused docker config .*config\.json \(key 127\.0\.0\.1:\d+\)/);
  t.notMatch(r.rows[0]?.detail, /a-rotated-password-2/, 'never the secret');
});

t.test('no credentials at all: the anonymous refusal is auth_failed', async (t) => {
  const r = await runAuditPass([deployment('anon', [`${reg.host}/team/app3:1.0`])], { registry: client });
  t.equal(r.rows[0]?.status, 'auth_failed');
  t.match(r.rows[0]?.detail, /refused anonymous access/);
});

t.test('cannot tell: pull secrets unreadable -> unverified, not auth_failed', async (t) => {
  const unknown = { forWorkload: async () => ({ known: false, reason: 'forbidden', from: 'none' as const, names: [], missing: [], ignored: [], invalid: [], credentialsFor: () => [] }) };
  const r = await runAuditPass([deployment('unknown', [`${reg.host}/team/app4:1.0`])], { registry: client, pullSecrets: unknown });
  t.equal(r.rows[0]?.status, 'unverified');
  t.match(r.rows[0]?.detail, /pull secrets could not be read/);
});

t.test('cannot tell: a registry nobody listens on is unreachable; an invalid reference is unverified', async (t) => {
  const port = await freePort();
  const closed = new RegistryClient({ hosts: { [`127.0.0.1:${port}`]: { allowPrivateNetwork: true } }, timeoutMs: 2000 });
  t.teardown(() => closed.destroy());
  const r = await runAuditPass([deployment('down', [`127.0.0.1:${port}/team/app:1.0`, 'Bad Image:tag'])], { registry: closed });
  t.equal(r.rows[0]?.status, 'unreachable');
  t.match(r.rows[0]?.detail, new RegExp(`^127\\.0\\.0\\.1:${port} `));
  t.equal(r.rows[1]?.status, 'unverified');
  t.match(r.rows[1]?.detail, /is not a valid image reference/);
  t.equal(r.lookups, 1, 'the invalid reference costs no lookup');
});

t.test('pods owned by nobody, Jobs and CronJobs: their pod specs are read from each kind', async (t) => {
  const img = `${reg.host}/team/app5:1.0`;
  const objs: AuditedObject[] = [
    { kind: 'Pod', apiVersion: 'v1', namespace: 'n', name: 'p', uid: 'p1', object: { metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: img }], initContainers: [{ name: 'i', image: img }] } } },
    { kind: 'CronJob', apiVersion: 'batch/v1beta1', namespace: 'n', name: 'cj', uid: 'c1', object: { metadata: { name: 'cj' }, spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'j', image: img }] } } } } } } },
  ];
  events.length = 0;
  const r = await runAuditPass(objs, { registry: client, pullSecrets: good.pullSecrets });
  t.same(r.rows.map((x) => `${x.kind}/${x.name}/${x.container}:${x.status}`).sort(), ['CronJob/cj/j:available', 'Pod/p/a:available', 'Pod/p/i:available']);
  t.equal(manifestHeads(), 1, 'one image, one HEAD');
});
