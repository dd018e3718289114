// Every check that can deny, for every restart policy and container kind: the verdict and the
// words of what will happen. The expected consequences are written out here by hand from the
// kubelet's and the Job controller's rules (shared/docs/kubelet-semantics.md, consequence.ts's
// header), not computed by consequence.ts, so a wrong rule there shows up as a failure here.
// The images are real ones in a real registry (test/helpers/image-world.ts).
import t from 'tap';
import { extractWorkload } from '../../src/admission/pod-specs.js';
import { findingParts, formatWarning, MAX_WARNING_CHARS } from '../../src/admission/verdict.js';
import { allChecks } from '../../src/checks/index.js';
import { runChecks } from '../../src/checks/run-checks.js';
import type { WorkloadUnderReview } from '../../src/checks/types.js';
import { fullText, imageWorld } from '../helpers/image-world.js';
import { tagManifest } from '../helpers/registry-fixtures.js';

const world = await imageWorld();
t.teardown(() => world.close());
const img = world.images.ref;

type Role = 'app' | 'init' | 'sidecar' | 'ephemeral';
interface Place {
  name: string;
  kind: 'Pod' | 'Deployment' | 'Job' | 'CronJob';
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
}
const places: Place[] = [
  { name: 'Pod (Always by default)', kind: 'Pod' },
  { name: 'Pod OnFailure', kind: 'Pod', restartPolicy: 'OnFailure' },
  { name: 'Pod Never', kind: 'Pod', restartPolicy: 'Never' },
  { name: 'Deployment', kind: 'Deployment' },
  { name: 'Job OnFailure', kind: 'Job', restartPolicy: 'OnFailure' },
  { name: 'Job Never', kind: 'Job', restartPolicy: 'Never' },
  { name: 'CronJob Never', kind: 'CronJob', restartPolicy: 'Never' },
];
const roles: Role[] = ['app', 'init', 'sidecar', 'ephemeral'];

/** The object under review with the container under test in its role, next to a healthy app container. */
function workloadWith(place: Place, role: Role, container: Record<string, unknown>): WorkloadUnderReview {
  const healthy = { name: 'main', image: img('multi:1') };
  const target = { name: 'x', ...container };
  const spec: Record<string, unknown> = { containers: role === 'app' ? [target] : [healthy] };
  if (place.restartPolicy) spec['restartPolicy'] = place.restartPolicy;
  if (role === 'init') spec['initContainers'] = [target];
  if (role === 'sidecar') spec['initContainers'] = [{ ...target, restartPolicy: 'Always' }];
  if (role === 'ephemeral') spec['ephemeralContainers'] = [target];
  const metadata = { name: 'demo', namespace: 'default' };
  const template = { metadata: { labels: { app: 'demo' } }, spec };
  const objects: Record<Place['kind'], Record<string, unknown>> = {
    Pod: { apiVersion: 'v1', kind: 'Pod', metadata, spec },
    Deployment: { apiVersion: 'apps/v1', kind: 'Deployment', metadata, spec: { selector: { matchLabels: { app: 'demo' } }, template } },
    Job: { apiVersion: 'batch/v1', kind: 'Job', metadata, spec: { backoffLimit: 3, template } },
    CronJob: { apiVersion: 'batch/v1', kind: 'CronJob', metadata, spec: { schedule: '@hourly', jobTemplate: { spec: { template } } } },
  };
  return extractWorkload(place.kind, objects[place.kind])!;
}

// What the person will see, by hand, for each way of failing.
type Way = 'start' | 'error' | 'completed' | 'probe' | 'pull' | 'create';
const restarted = (p: Place, role: Role, zero: boolean): boolean => {
  if (role === 'sidecar') return true;
  if (role === 'ephemeral') return false;
  if (role === 'init' && zero) return false;
  const policy = p.restartPolicy ?? (p.kind === 'Job' || p.kind === 'CronJob' ? 'Never' : 'Always');
  return policy === 'Always' || (policy === 'OnFailure' && !zero);
};
const backoffLimit = (p: Place): string => (p.kind === 'CronJob' ? '6' : '3');

function expected(p: Place, role: Role, way: Way, reason: string): string | undefined {
  const job = p.kind === 'Job' || p.kind === 'CronJob';
  const init = role === 'init' || role === 'sidecar' ? 'Init:' : '';
  if (way === 'pull') return `${init}ErrImagePull, then ${init}ImagePullBackOff${init ? '; the app containers never start' : ''}`;
  if (way === 'create') return `${init}${reason}: the container waits${init ? ', and so do the app containers,' : ''} until that is fixed`;
  const killed = way === 'probe' ? 'killed by the kubelet once its liveness probe fails, ' : '';
  const R = way === 'probe' ? 'Error' : reason;
  if (!restarted(p, role, way === 'completed')) {
    if (way === 'completed') return undefined; // ending with status 0 where nothing restarts it is fine
    if (role === 'ephemeral') return `the ephemeral container ends in ${R} and is never restarted`;
    const blocks = role === 'init' ? '; the app containers never start' : '';
    if (job) return `the pod ends Failed (${killed}${init}${R})${blocks}; the Job retries with new pods until BackoffLimitExceeded (backoffLimit ${backoffLimit(p)})`;
    return `the pod ends Failed (${killed}${init}${R}) and is never restarted${blocks}`;
  }
  if (role === 'sidecar') {
    return way === 'start' ? `Init:${R}, then Init:CrashLoopBackOff; the app containers never start` : `${killed}${R}, then CrashLoopBackOff (a sidecar is always restarted)`;
  }
  const loop = `${killed}${init}${R}, then ${init}CrashLoopBackOff${role === 'init' ? '; the app containers never start' : ''}`;
  return job && p.restartPolicy === 'OnFailure' ? `${loop}; the Job fails with BackoffLimitExceeded once its backoffLimit (${backoffLimit(p)}) is spent` : loop;
}

interface Case {
  check: string;
  way: Way;
  reason: string;
  container: () => Record<string, unknown>;
  /** Roles the API server accepts this container in (ephemeral containers take no probes or resources). */
  roles?: Role[];
}
const cases: Case[] = [
  { check: 'command-sanity', way: 'start', reason: 'StartError', container: () => ({ image: img('alpine:3'), command: ['exit', '1'] }) },
  { check: 'executable-present', way: 'start', reason: 'StartError', container: () => ({ image: img('alpine:3'), command: ['bash', '-c', 'echo hi'] }) },
  { check: 'shell-script', way: 'error', reason: 'Error', container: () => ({ image: img('alpine:3'), command: ['sh', '-c', 'echo starting; exit 3'] }) },
  { check: 'exits-at-once', way: 'completed', reason: 'Completed', container: () => ({ image: img('alpine:3'), command: ['echo', 'hello'] }) },
  { check: 'platform', way: 'error', reason: 'Error', container: () => ({ image: img('arm64only:1') }) },
  { check: 'image-exists', way: 'pull', reason: 'ErrImagePull', container: () => ({ image: img('no-such-image:1') }) },
  { check: 'image-reference', way: 'create', reason: 'InvalidImageName', container: () => ({ image: 'NGINX:1.14.2' }) },
  { check: 'effective-command', way: 'create', reason: 'CreateContainerError', container: () => ({ image: img('noentry:1') }) },
  { check: 'run-as-non-root', way: 'create', reason: 'CreateContainerConfigError', container: () => ({ image: img('rootuser:1'), securityContext: { runAsNonRoot: true } }) },
  { check: 'memory-limit', way: 'start', reason: 'StartError', roles: ['app', 'init', 'sidecar'], container: () => ({ image: img('multi:1'), resources: { limits: { memory: '4Mi' } } }) },
  {
    check: 'probes',
    way: 'probe',
    reason: 'Error',
    roles: ['app', 'sidecar'],
    container: () => ({ image: img('multi:1'), livenessProbe: { exec: { command: ['curl', '-f', 'http://localhost/'] }, periodSeconds: 10 } }),
  },
];

t.test('every check that can deny, under every restart policy and container kind', async (t) => {
  let rows = 0;
  for (const c of cases) {
    for (const place of places) {
      for (const role of c.roles ?? roles) {
        if (role === 'ephemeral' && place.kind !== 'Pod') continue; // only pods carry ephemeral containers
        const workload = workloadWith(place, role, c.container());
        const target = workload.containers.find((x) => x.container.name === 'x')!;
        const { findings } = await runChecks(workload, { checks: allChecks, ports: world.ports(), signal: AbortSignal.timeout(20_000), targets: [target] });
        const mine = findings.filter((f) => f.checkId === c.check);
        const want = expected(place, role, c.way, c.reason);
        const label = `${c.check} × ${place.name} × ${role}`;
        rows++;
        if (want === undefined) {
          t.same(mine, [], `${label}: no finding (it ends with status 0 and is not restarted)`);
          continue;
        }
        t.equal(mine.length, 1, `${label}: one finding ${JSON.stringify(findings.map(fullText))}`);
        const f = mine[0];
        if (!f) continue;
        t.equal(f.certainty, 'certain', `${label}: denied`);
        t.ok(fullText(f).includes(want), `${label}: says "${want}" in: ${fullText(f)}`);
        t.ok(findingParts(f).fix, `${label}: has a fix`);
        // No other consequence sneaks in: a pod that is never restarted never shows CrashLoopBackOff.
        if (!restarted(place, role, c.way === 'completed') && c.way !== 'pull' && c.way !== 'create') t.notMatch(fullText(f), /CrashLoopBackOff/, `${label}: no CrashLoopBackOff`);
      }
    }
  }
  t.ok(rows >= 250, `${rows} rows`);
});

// The longest names Kubernetes allows: a 128-character tag (distribution's tag grammar) and a
// 63-character container name (a DNS label), in warn mode, where the prefix takes room too.
t.test('every finding, as a warn-mode warning with the longest names, keeps the check id, the consequence and the whole fix within 256 characters', async (t) => {
  const longTag = `1.2.3-${'build'.repeat(24)}`.slice(0, 128);
  const longName = `x${'-sidecar-container'.repeat(4)}`.slice(0, 63);
  for (const name of Object.keys(world.images.digests)) {
    const [repo] = name.split(':');
    await tagManifest(world.reg, { repo: `fixtures/${repo}`, digest: world.images.digests[name]!, tag: longTag });
  }
  const longer = (image: unknown): unknown => (typeof image === 'string' && image.startsWith(`${world.reg.host}/fixtures/`) ? image.replace(/:[^:/]+$/, `:${longTag}`) : image);
  let checked = 0;
  for (const c of cases) {
    for (const place of [places[0]!, places[5]!]) {
      for (const role of c.roles ?? roles) {
        if (role === 'ephemeral' && place.kind !== 'Pod') continue;
        const container = c.container();
        const workload = workloadWith(place, role, { ...container, image: longer(container['image']) });
        const target = workload.containers.find((x) => x.container.name === 'x')!;
        const renamed = { ...target, container: { ...target.container, name: longName } };
        const { findings } = await runChecks(workload, { checks: allChecks, ports: world.ports(), signal: AbortSignal.timeout(20_000), targets: [renamed] });
        for (const f of findings) {
          checked++;
          const line = formatWarning(f, 'would be denied (warn mode): ');
          const label = `${f.checkId} × ${place.name} × ${role}`;
          t.ok(Array.from(line).length <= MAX_WARNING_CHARS, `${label}: ${Array.from(line).length} runes`);
          t.ok(line.startsWith(`[${f.checkId}] would be denied (warn mode): container "${longName}": `), `${label}: id and container first`);
          const fix = findingParts(f).fix;
          if (fix) t.ok(line.endsWith(`; fix: ${fix}`), `${label}: the whole fix: ${line}`);
        }
      }
    }
  }
  t.ok(checked > 40, `${checked} findings laid out`);
});
