// Issue 13: what `backoff-guard audit` prints (the real CLI runs against a real cluster in
// test/e2e/audit-cli.test.ts): the table, failing rows first, the summary in plain English, the
// exit code.
import t from 'tap';
import type { AuditPassResult, AuditRow } from '../../src/audit/audit-pass.js';
import { auditExitCode, auditJson, auditText, count } from '../../src/cli/audit.js';

const row = (name: string, status: AuditRow['status'], detail = ''): AuditRow => ({
  namespace: 'shop',
  kind: 'Deployment',
  name,
  container: 'app',
  image: `registry.example/shop/${name}:1`,
  status,
  detail,
  workload: { kind: 'Deployment', apiVersion: 'apps/v1', namespace: 'shop', name, uid: `u-${name}` },
});
const result = (rows: AuditRow[], lookups = rows.length): AuditPassResult => ({ rows, workloads: rows.length, lookups, requests: lookups });

t.test('count says 1 container, 2 containers', async (t) => {
  t.equal(count(1, 'container'), '1 container');
  t.equal(count(0, 'container'), '0 containers');
  t.equal(count(3, 'distinct image'), '3 distinct images');
});

t.test('one failing container: listed first, summary in the singular, exit 1', async (t) => {
  const r = result([row('api', 'available'), row('web', 'absent', 'registry.example has no manifest 1 in shop/web')]);
  const text = auditText(r);
  const lines = text.trimEnd().split('\n');
  t.match(lines[0], /^NAMESPACE\s+KIND\s+NAME\s+CONTAINER\s+IMAGE\s+STATUS\s+DETAIL$/);
  t.match(lines[1], /^shop\s+Deployment\s+web\s+app\s+registry\.example\/shop\/web:1\s+absent\s+registry\.example has no manifest 1 in shop\/web$/, 'the failing row first, with why');
  t.match(lines[2], /^shop\s+Deployment\s+api\s+app\s+registry\.example\/shop\/api:1\s+available$/, 'an available row has no detail');
  t.equal(lines[3], '2 workloads, 2 containers, 2 distinct images looked up (2 registry HEAD requests); 1 container will fail to pull: ImagePullBackOff on its next start');
  t.equal(auditExitCode(r), 1);
});

t.test('all available: exit 0, no failure clause', async (t) => {
  const r = result([row('api', 'available')]);
  t.equal(auditText(r).trimEnd().split('\n').at(-1), '1 workload, 1 container, 1 distinct image looked up (1 registry HEAD request)');
  t.equal(auditExitCode(r), 0);
});

t.test('cannot tell (unverified, unreachable, rate_limited) is shown but does not fail the run', async (t) => {
  const r = result([row('a', 'unverified', 'the pull secrets could not be read'), row('b', 'unreachable', 'timeout'), row('c', 'rate_limited', '429')]);
  t.equal(auditExitCode(r), 0, 'exit 1 only when a pull is certain to fail');
  t.match(auditText(r), /unverified\s+the pull secrets could not be read/);
  t.notMatch(auditText(r), /will fail to pull/);
});

t.test('no workloads, and the JSON form', async (t) => {
  t.equal(auditText(result([])), 'no workloads found\n0 workloads, 0 containers, 0 distinct images looked up (0 registry HEAD requests)\n');
  const j = JSON.parse(auditJson(result([row('web', 'auth_failed', 'refused')]))) as Record<string, unknown>;
  t.same(j, { workloads: 1, lookups: 1, requests: 1, images: [{ namespace: 'shop', kind: 'Deployment', name: 'web', container: 'app', image: 'registry.example/shop/web:1', status: 'auth_failed', detail: 'refused' }] }, 'rows without the workload reference');
});
