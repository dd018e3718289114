// Issue 13: an Event once per failure, not again while it holds.
import t from 'tap';
import type { AuditRow } from '../../src/audit/audit-pass.js';
import { FailureState } from '../../src/audit/failure-state.js';

const row = (status: AuditRow['status'], uid = 'u1', image = 'r/app:1'): AuditRow => ({
  namespace: 'n', kind: 'Deployment', name: 'web', container: 'app', image, status, detail: '', workload: { kind: 'Deployment', apiVersion: 'apps/v1', namespace: 'n', name: 'web', uid },
});

t.test('available -> absent reports once; absent again does not; back to available then absent reports again', async (t) => {
  const s = new FailureState(100);
  t.same(s.update([row('available')]), []);
  t.equal(s.update([row('absent')]).length, 1, 'turned absent: one Event');
  t.equal(s.update([row('absent')]).length, 0, 'still absent: none');
  t.equal(s.update([row('auth_failed')]).length, 1, 'a different failure is news');
  t.same(s.update([row('available')]), []);
  t.equal(s.update([row('absent')]).length, 1);
});

t.test('cannot tell (unreachable, rate_limited, unverified) between two absent passes keeps the state', async (t) => {
  const s = new FailureState(100);
  t.equal(s.update([row('absent')]).length, 1);
  for (const blip of ['unreachable', 'rate_limited', 'unverified'] as const) t.same(s.update([row(blip)]), [], blip);
  t.equal(s.update([row('absent')]).length, 0, 'no second Event after a blip');
});

t.test('bounded: workloads that are gone are forgotten, and never more than maxEntries kept', async (t) => {
  const s = new FailureState(2);
  t.equal(s.update([row('absent', 'a'), row('absent', 'b'), row('absent', 'c')]).length, 3);
  // 'a' was evicted (oldest): seen failing again, it is reported again. That is the price of the bound.
  t.equal(s.update([row('absent', 'a')]).length, 1);
});
