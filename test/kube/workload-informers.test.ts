// Issue 13: the pure parts of WorkloadInformers (the informers themselves run against the real
// API server in test/e2e/kube-informers.test.ts).
import t from 'tap';
import { collectionPath, trimStored } from '../../src/kube/workload-informers.js';

t.test('the watch path of each audited kind, cluster-wide or in one namespace', async (t) => {
  t.equal(collectionPath('apps/v1', 'Deployment'), '/apis/apps/v1/deployments');
  t.equal(collectionPath('batch/v1beta1', 'CronJob', 'team-a'), '/apis/batch/v1beta1/namespaces/team-a/cronjobs');
  t.equal(collectionPath('v1', 'Pod'), '/api/v1/pods', 'the core group lives under /api');
  t.equal(collectionPath('apps/v1', 'StatefulSet', 'a b'), '/apis/apps/v1/namespaces/a%20b/statefulsets');
});

t.test('trimStored keeps what the audit reads and drops the rest, in place', async (t) => {
  const o = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'ns', uid: 'u1', resourceVersion: '7', ownerReferences: [{ apiVersion: 'x/v1', kind: 'Op', name: 'o', uid: 'u' }], annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' }, labels: { a: 'b' }, managedFields: [{}] },
    spec: { template: { metadata: { labels: { app: 'web' } }, spec: { serviceAccountName: 'sa', imagePullSecrets: [{ name: 'r' }], containers: [{ name: 'app', image: 'x:1' }] } } },
    status: { replicas: 3 },
  };
  trimStored(o);
  t.same(o, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'ns', uid: 'u1', resourceVersion: '7', ownerReferences: [{ apiVersion: 'x/v1', kind: 'Op', name: 'o', uid: 'u' }] },
    spec: { template: { metadata: { labels: { app: 'web' } }, spec: { serviceAccountName: 'sa', imagePullSecrets: [{ name: 'r' }], containers: [{ name: 'app', image: 'x:1' }] } } },
  });
  const bare = { metadata: undefined };
  trimStored(bare);
  t.same(bare, { metadata: undefined }, 'an object without metadata is left as it is');
});
