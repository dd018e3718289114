// Issue 13: which listed objects the audit reports itself (listWorkloads runs against the real
// API server in test/e2e/audit-cli.test.ts).
import t from 'tap';
import { auditedDirectly } from '../../src/kube/workloads.js';

const owned = (kind: string, controller = true) => ({ metadata: { name: 'x', ownerReferences: [{ apiVersion: 'v1', kind, name: 'o', uid: 'u', controller }] } });

t.test('a pod a controller owns is audited through its owner; a bare pod by itself', async (t) => {
  t.equal(auditedDirectly('Pod', owned('ReplicaSet')), false);
  t.equal(auditedDirectly('Pod', owned('Job')), false);
  t.equal(auditedDirectly('Pod', { metadata: { name: 'x' } }), true);
  t.equal(auditedDirectly('Pod', owned('ReplicaSet', false)), true, 'an owner that is not the controller does not recreate it');
});

t.test('a Job a CronJob created is the CronJob\'s; a Job of its own is reported', async (t) => {
  t.equal(auditedDirectly('Job', owned('CronJob')), false);
  t.equal(auditedDirectly('Job', { metadata: { name: 'x' } }), true);
  t.equal(auditedDirectly('Deployment', owned('SomeOperator')), true, 'an operator-owned Deployment is still the workload to report');
});
