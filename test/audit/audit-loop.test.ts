// Issue 13: the audit loop's schedule, leadership gate and error path, with plain functions as
// the workload lister and the pass (the pass itself is tested against a real registry in
// audit-pass.test.ts and end to end in test/e2e/audit-cli.test.ts).
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditPassResult, AuditRow } from '../../src/audit/audit-pass.js';
import { AuditLoop } from '../../src/audit/audit-loop.js';

const row = (status: AuditRow['status']): AuditRow => ({
  namespace: 'n', kind: 'Deployment', name: 'web', container: 'app', image: 'r/app:1', status, detail: 'd', workload: { kind: 'Deployment', apiVersion: 'apps/v1', namespace: 'n', name: 'web', uid: 'u' },
});
const result = (status: AuditRow['status']): AuditPassResult => ({ rows: [row(status)], workloads: 1, lookups: 1, requests: 1 });

t.test('passes repeat at the interval; a turned failure is handed over once', async (t) => {
  const statuses: AuditRow['status'][] = ['available', 'absent', 'absent', 'available'];
  const turned: number[] = [];
  const loop = new AuditLoop({
    list: async () => [],
    pass: async () => result(statuses.shift() ?? 'available'),
    intervalMs: 20, jitter: 0, maxEntries: 10,
    onPass: (_r, t2) => void turned.push(t2.length),
    onError: () => t.fail('no error expected'),
  });
  loop.start(1);
  while (loop.passes < 4) await sleep(5);
  await loop.stop();
  t.same(turned.slice(0, 4), [0, 1, 0, 0]);
  t.equal(loop.last?.result.rows[0]?.status, 'available');
});

t.test('a follower does not scan', async (t) => {
  let leader = false;
  let passes = 0;
  const loop = new AuditLoop({ list: async () => [], pass: async () => (passes++, result('available')), intervalMs: 10, jitter: 0, maxEntries: 10, isLeader: () => leader, onPass: () => {}, onError: () => {} });
  await loop.runOnce();
  t.equal(passes, 0, 'not the Lease holder: no pass');
  leader = true;
  await loop.runOnce();
  t.equal(passes, 1, 'holder: a pass');
});

t.test('cannot tell: the API server fails the list -> reported, no result, the loop goes on', async (t) => {
  const errors: string[] = [];
  const loop = new AuditLoop({ list: async () => { throw new Error('connect ECONNREFUSED'); }, pass: async () => result('available'), intervalMs: 10, jitter: 0, maxEntries: 10, onPass: () => void t.fail('no pass'), onError: (e) => void errors.push((e as Error).message) });
  await loop.runOnce();
  await loop.runOnce();
  t.same(errors, ['connect ECONNREFUSED', 'connect ECONNREFUSED']);
  t.equal(loop.last, undefined);
});

t.test('jitter keeps the delay within +-jitter of the interval, and spreads it', async (t) => {
  const delays = [0, 0.5, 0.999].map((r) => new AuditLoop({ list: async () => [], pass: async () => result('available'), intervalMs: 1000, jitter: 0.1, maxEntries: 1, random: () => r, onPass: () => {}, onError: () => {} }).nextDelayMs());
  t.same(delays, [900, 1000, 1100]);
});
