import t from 'tap';
import { changedContainers, extractWorkload, workloadHead, workloadOf, WORKLOAD_KINDS } from '../../src/admission/pod-specs.js';
import { deploymentObject, podObject } from '../helpers/workloads.js';

const template = (containers: unknown[]) => ({ metadata: { annotations: { 'backoff-guard.io/skip-checks': 'image-exists' } }, spec: { containers } });
const c = [{ name: 'app', image: 'nginx:1.14.2' }];

const kinds: Array<[kind: string, object: Record<string, unknown>, path: string]> = [
  ['Pod', podObject(c), 'spec.containers[0]'],
  ['Deployment', { kind: 'Deployment', metadata: { name: 'd' }, spec: { template: template(c) } }, 'spec.template.spec.containers[0]'],
  ['ReplicaSet', { kind: 'ReplicaSet', metadata: { name: 'r' }, spec: { template: template(c) } }, 'spec.template.spec.containers[0]'],
  ['StatefulSet', { kind: 'StatefulSet', metadata: { name: 's' }, spec: { template: template(c) } }, 'spec.template.spec.containers[0]'],
  ['DaemonSet', { kind: 'DaemonSet', metadata: { name: 'ds' }, spec: { template: template(c) } }, 'spec.template.spec.containers[0]'],
  ['ReplicationController', { kind: 'ReplicationController', metadata: { name: 'rc' }, spec: { template: template(c) } }, 'spec.template.spec.containers[0]'],
  ['Job', { kind: 'Job', metadata: { name: 'j' }, spec: { template: template(c) } }, 'spec.template.spec.containers[0]'],
  ['CronJob', { kind: 'CronJob', metadata: { name: 'cj' }, spec: { jobTemplate: { spec: { template: template(c) } } } }, 'spec.jobTemplate.spec.template.spec.containers[0]'],
];

t.test('every workload kind yields its pod spec containers', async (t) => {
  t.same([...WORKLOAD_KINDS].sort(), kinds.map((k) => k[0]).sort(), 'the table covers every supported kind');
  for (const [kind, object, path] of kinds) {
    const w = extractWorkload(kind, object);
    t.ok(w, `${kind} has a pod spec`);
    t.equal(w!.containers.length, 1, `${kind}: one container`);
    t.equal(w!.containers[0]!.path, path, `${kind}: path`);
    t.equal(w!.containers[0]!.container.image, 'nginx:1.14.2');
    if (kind !== 'Pod') t.equal(w!.annotations['backoff-guard.io/skip-checks'], 'image-exists', `${kind}: template annotations are read`);
  }
});

t.test('init, regular, ephemeral and sidecar containers are all listed', async (t) => {
  const w = extractWorkload('Pod', podObject([{ name: 'main', image: 'a' }], {
    initContainers: [{ name: 'init', image: 'b' }, { name: 'sidecar', image: 'c', restartPolicy: 'Always' }],
    ephemeralContainers: [{ name: 'debug', image: 'd' }],
  }))!;
  t.same(w.containers.map((x) => [x.kind, x.container.name, x.sidecar]), [
    ['initContainer', 'init', false],
    ['initContainer', 'sidecar', true],
    ['container', 'main', false],
    ['ephemeralContainer', 'debug', false],
  ]);
});

t.test('kinds without a pod spec and broken objects yield nothing, without throwing', async (t) => {
  t.equal(extractWorkload('ConfigMap', { data: {} }), undefined);
  t.equal(extractWorkload('Deployment', null), undefined);
  t.equal(extractWorkload('Deployment', { spec: { template: 'x' } }), undefined);
  t.equal(extractWorkload('Pod', []), undefined);
  const w = extractWorkload('Pod', { spec: { containers: [null, 3, { image: 7, command: 'sh' }] } })!;
  t.equal(w.containers.length, 1, 'non-objects are skipped');
  t.equal(w.containers[0]!.container.image, undefined, 'a non-string image is treated as missing');
  t.equal(w.containers[0]!.container.command, undefined, 'a non-list command is ignored');
});

t.test('on UPDATE only new containers and changed image, command or args are checked', async (t) => {
  const before = extractWorkload('Deployment', deploymentObject([
    { name: 'a', image: 'x:1' }, { name: 'b', image: 'y:1', command: ['run'] }, { name: 'c', image: 'z:1' },
  ]))!;
  const scaled = extractWorkload('Deployment', { ...deploymentObject([
    { name: 'a', image: 'x:1' }, { name: 'b', image: 'y:1', command: ['run'] }, { name: 'c', image: 'z:1' },
  ]), spec: { ...(deploymentObject([{ name: 'a', image: 'x:1' }, { name: 'b', image: 'y:1', command: ['run'] }, { name: 'c', image: 'z:1' }]).spec as object), replicas: 5 } })!;
  t.same(changedContainers(scaled, before), [], 'scaling changes no container');
  const edited = extractWorkload('Deployment', deploymentObject([
    { name: 'a', image: 'x:2' }, { name: 'b', image: 'y:1', command: ['run', '--fast'] }, { name: 'c', image: 'z:1' }, { name: 'd', image: 'w:1' },
  ]))!;
  t.same(changedContainers(edited, before).map((x) => x.container.name), ['a', 'b', 'd']);
  t.equal(changedContainers(edited, undefined).length, 4, 'no old object: everything is checked');
});

t.test('kind names that are Object.prototype keys carry no pod spec', async (t) => {
  for (const kind of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    t.equal(extractWorkload(kind, { spec: { template: { spec: { containers: [{ name: 'a', image: 'x' }] } } } }), undefined, kind);
  }
});

t.test('argv elements of any JSON type become text without throwing', async (t) => {
  const w = extractWorkload('Pod', { spec: { containers: [{ name: 'a', image: 'x', command: [1, true, null, { toString: null }, ['x']], args: ['ok'] }] } })!;
  t.same(w.containers[0]!.container.command, ['1', 'true', 'null', '{"toString":null}', '["x"]']);
});

t.test("a workload's head: what a review reads before it needs the containers", async (t) => {
  for (const [kind, object] of kinds) {
    const head = workloadHead(kind, object)!;
    t.ok(head, `${kind} has a head`);
    t.notOk('containers' in head || 'podSpec' in head, `${kind}: no container model in the head`);
    t.same(workloadOf(head), extractWorkload(kind, object), `${kind}: the model built from the head is the whole model`);
  }
  const job = workloadHead('Job', { metadata: { name: 'j', namespace: 'ci', ownerReferences: [{ kind: 'CronJob', controller: true }] }, spec: { backoffLimit: 2, template: template(c) } })!;
  t.same([job.namespace, job.backoffLimit, job.controllerKind, job.annotations['backoff-guard.io/skip-checks']], ['ci', 2, 'CronJob', 'image-exists'], 'scalars and annotations the memo key and the policy read');
  t.equal(workloadHead('Pod', { spec: 'not an object' }), undefined, 'no pod spec: no head');
  t.equal(workloadHead('ConfigMap', { spec: {} }), undefined, 'a kind without a pod spec: no head');
});
