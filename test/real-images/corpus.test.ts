// Issue 15: the image-aware checks on real file systems nobody here wrote. The images are built
// from Debian bookworm packages by test/fixtures/debian/build.sh (mmdebstrap; cached by package
// versions under ~/.cache/backoff-guard/debian-images), pushed to a real registry (Distribution
// 2.8) in every manifest shape, and the whole engine (policy, checks, verdict) reviews the corpus
// of test/helpers/real-image-corpus.ts on each shape:
//   - no false deny: every corpus container is allowed with no finding, except the "could not
//     verify" ones documented in test/real-images/README.md (zstd layers on Node.js < 22.15);
//   - every true failure is denied by its check (warned about, unverified, where zstd cannot be
//     read), and an image over the size budget is warned about, never denied.
// Assertions are on the verdict, the check id and the certainty, not on the wording.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { pino } from 'pino';
import { reviewFor } from '../../src/admission/review.js';
import type { NamespacedObjects } from '../../src/checks/ports.js';
import type { Finding } from '../../src/checks/types.js';
import { loadConfig } from '../../src/config/load.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { zstdSupported } from '../../src/inspect/layer-reader.js';
import { buildDebianLayers, pushRealImages, REAL_IMAGES, SHAPES, type RealImageName, type Shape } from '../helpers/debian-images.js';
import { CORPUS, FAILURES, type CorpusEntry } from '../helpers/real-image-corpus.js';
import { startRegistry } from '../helpers/registry.js';

// The first build (mmdebstrap, ~6 minutes on 2 cores) outlasts tap's 120 s per file; a cached
// run takes well under a minute.
t.setTimeout(30 * 60_000);
const built = await buildDebianLayers();
t.comment(`debian images: ${built.cached ? 'cached' : 'built'} in ${built.seconds.toFixed(1)} s (${built.dir})`);
const reg = await startRegistry({ auth: 'none' });
t.teardown(() => reg.stop());
const pushStarted = Date.now();
const images = await pushRealImages(reg, built);
t.comment(`pushed ${(images.pushedBytes / 1e6).toFixed(1)} MB of blobs in ${((Date.now() - pushStarted) / 1000).toFixed(1)} s`);

const objects: NamespacedObjects = { configMap: async () => ({ status: 'missing' }), secret: async () => ({ status: 'missing' }) };
async function engineWith(inspect: Record<string, unknown> = {}): Promise<Engine> {
  const config = loadConfig({
    document: {
      registry: { hosts: { [reg.host]: { caFile: reg.caFile, allowPrivateNetwork: true } } },
      kubernetes: { enabled: 'off' },
      inspect: { nodeArchitectures: ['amd64'], ...inspect },
      log: { level: 'silent' },
    },
  });
  const engine = await createEngine(config, { logger: pino({ level: 'silent' }), namespaceLabels: null, objects });
  t.teardown(() => engine.close());
  return engine;
}
const engine = await engineWith();

type Obj = Record<string, unknown>;
let serial = 0;

/** The entry as the object `kubectl apply` sends, its images in `shape`. */
function workload(e: CorpusEntry, shape: Shape): Obj {
  const ref = (name: RealImageName) => images.ref(name, shape);
  const name = `c${++serial}`;
  const init = e.init?.map((c) => {
    const own = typeof c['image'] === 'string' && c['image'] in REAL_IMAGES ? (c['image'] as RealImageName) : e.image;
    return { ...c, image: ref(own) };
  });
  const pod: Obj = { ...(e.pod ?? {}), ...(init ? { initContainers: init } : {}), containers: [{ name: 'main', image: ref(e.image), ...e.container }] };
  const meta = { name, namespace: 'default', labels: { app: name } };
  const template = { metadata: { labels: { app: name } }, spec: pod };
  switch (e.kind) {
    case 'Pod':
      return { apiVersion: 'v1', kind: 'Pod', metadata: meta, spec: pod };
    case 'Job':
      return { apiVersion: 'batch/v1', kind: 'Job', metadata: meta, spec: { template: { spec: { restartPolicy: 'Never', ...pod } } } };
    case 'CronJob':
      return { apiVersion: 'batch/v1', kind: 'CronJob', metadata: meta, spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'OnFailure', ...pod } } } } } };
    default:
      return { apiVersion: 'apps/v1', kind: e.kind, metadata: meta, spec: { selector: { matchLabels: { app: name } }, ...(e.kind === 'StatefulSet' ? { serviceName: name } : {}), template } };
  }
}

interface Outcome {
  allowed: boolean;
  warnings: number;
  findings: Finding[];
}

async function review(eng: Engine, object: Obj): Promise<Outcome> {
  // A long deadline: the first review of an image waits for its layers to be indexed.
  const out = await eng.review(reviewFor(object), AbortSignal.timeout(180_000));
  return { allowed: out.response.response.allowed, warnings: out.response.response.warnings?.length ?? 0, findings: out.findings };
}

const brief = (fs: Finding[]) => fs.map((f) => `${f.checkId}/${f.certainty}/${f.container}: ${f.message}`);
/** zstd layers cannot be read on this Node.js: findings there may only be "could not verify". */
const unreadable = (shape: Shape) => shape === 'zstd' && !zstdSupported();

interface Row {
  image: string;
  /** Containers reviewed (a pod's init containers count), over all shapes. */
  containers: number;
  /** Reviews denied / with at least one warning. */
  denies: number;
  warnings: number;
  /** Reviews whose only findings are "could not verify" (zstd on Node.js < 22.15). */
  unverifiedOnly: number;
  /** Corpus reviews denied / warned about beyond "could not verify"; known: a todo's bug. */
  falseDenies: number;
  falseWarnings: number;
  knownFalseDenies: number;
  knownFalseWarnings: number;
  /** True-failure reviews the check did not deny where it could read the image (todo: a known gap). */
  missedFailures: number;
}
const table = new Map<string, Row>();
const row = (image: string): Row => {
  let r = table.get(image);
  if (!r) table.set(image, (r = { image, containers: 0, denies: 0, warnings: 0, unverifiedOnly: 0, falseDenies: 0, falseWarnings: 0, knownFalseDenies: 0, knownFalseWarnings: 0, missedFailures: 0 }));
  return r;
};
const containersIn = (e: CorpusEntry) => 1 + (e.init?.length ?? 0);

t.test('the built layers have the shapes of real Debian images', async (t) => {
  const list = (layer: string) => execFileSync('tar', ['-tvzf', join(built.dir, `${layer}.tar.gz`)], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const minbase = list('debian-minbase');
  t.match(minbase, /^l\S+ 0\/0 +0 \S+ \S+ bin -> usr\/bin$/m, 'usr-merged: /bin is a symlink to usr/bin');
  t.match(minbase, /^l\S+ .* usr\/bin\/sh -> dash$/m, '/bin/sh is dash');
  t.notMatch(minbase, /^\S+ .* dev\/null/m, 'no device nodes: the runtime mounts /dev');
  t.match(list('python'), /^l\S+ .* usr\/bin\/python3 -> python3\.11$/m, 'python3 is a relative symlink');
  const bb = list('busybox');
  const links = bb.split('\n').filter((l) => l.startsWith('h'));
  t.ok(links.length > 200, `busybox applets are hard links (${links.length})`);
  t.notMatch(bb, / bin\/bash( |$)/m, 'busybox has no bash');
  const slim = list('slimmed-2');
  t.match(slim, / usr\/bin\/\.wh\.ps$/m, 'a whiteout for the removed ps');
  t.match(slim, / opt\/tools\/\.wh\.\.wh\.\.opq$/m, 'an opaque /opt/tools');
  t.match(slim, / usr\/share\/doc\/\.wh\.\.wh\.\.opq$/m, 'an opaque /usr/share/doc');
  const st = list('static-nonroot');
  t.match(st, / catatonit$/m);
  t.notMatch(st, / bin\//m, 'no shell, no /bin');
  t.equal(execFileSync('tar', ['-xzOf', join(built.dir, 'static-nonroot.tar.gz'), 'etc/passwd'], { encoding: 'utf8' }).match(/^nonroot:x:65532:65532:/m)?.length, 1);
});

t.test('no false deny on the corpus, in every manifest shape', async (t) => {
  t.ok(CORPUS.reduce((n, e) => n + containersIn(e), 0) >= 150, 'at least 150 containers');
  for (const shape of SHAPES) {
    for (const e of CORPUS) {
      const r = row(REAL_IMAGES[e.image].repo);
      const out = await review(engine, workload(e, shape));
      r.containers += containersIn(e);
      if (!out.allowed) r.denies++;
      if (out.warnings > 0) r.warnings++;
      if (out.warnings > 0 && out.findings.every((f) => f.certainty === 'unverified')) r.unverifiedOnly++;
      const tolerated = unreadable(shape) ? out.findings.filter((f) => f.certainty === 'unverified') : [];
      const unexpected = out.findings.filter((f) => !tolerated.includes(f));
      if (!out.allowed) r[e.todo ? 'knownFalseDenies' : 'falseDenies']++;
      if (unexpected.length > 0 && out.allowed) r[e.todo ? 'knownFalseWarnings' : 'falseWarnings']++;
      t.same({ allowed: out.allowed, unexpected: brief(unexpected) }, { allowed: true, unexpected: [] }, `${shape}: ${e.name}`, e.todo ? { todo: e.todo } : {});
    }
  }
});

t.test('every true failure is caught by its check, in every manifest shape', async (t) => {
  for (const shape of SHAPES) {
    for (const e of FAILURES) {
      const r = row(`${REAL_IMAGES[e.image].repo} (failures)`);
      const out = await review(engine, workload(e, shape));
      r.containers += containersIn(e);
      if (!out.allowed) r.denies++;
      if (out.warnings > 0) r.warnings++;
      if (out.warnings > 0 && out.findings.every((f) => f.certainty === 'unverified')) r.unverifiedOnly++;
      const hit = out.findings.filter((f) => f.checkId === e.check);
      // run-as-non-root reads the config only; the file checks need the zstd layers.
      if (unreadable(shape) && e.check !== 'run-as-non-root') {
        // executable-present says "could not verify"; probes stays silent when it cannot tell.
        t.same(
          { allowed: out.allowed, certain: out.findings.filter((f) => f.certainty !== 'unverified').map((f) => f.checkId), unverified: out.findings.some((f) => f.certainty === 'unverified') },
          { allowed: true, certain: [], unverified: true },
          `${shape} (zstd unreadable here): ${e.name} is warned about ("could not verify")`,
          e.todo ? { todo: e.todo } : {},
        );
      } else {
        const expect = e.expect ?? 'certain';
        if (!hit.some((f) => f.certainty === expect)) r.missedFailures++;
        const verb = expect === 'certain' ? 'denied' : 'warned about';
        t.same({ allowed: out.allowed, certainty: hit.map((f) => f.certainty) }, { allowed: expect !== 'certain', certainty: [expect] }, `${shape}: ${e.name} ${verb} by ${e.check}: ${brief(out.findings).join(' | ')}`, e.todo ? { todo: e.todo } : {});
      }
    }
  }
});

t.test('an arm64-only image on amd64 nodes is denied by platform', async (t) => {
  const arm64Only = (kind: 'Pod' | 'Deployment', pod: Obj) => {
    const object = workload({ name: 'arm64 only', image: 'busybox', kind, container: { command: ['sleep', 'infinity'] }, pod }, 'index');
    const spec = (kind === 'Pod' ? object['spec'] : ((object['spec'] as Obj)['template'] as Obj)['spec']) as { containers: Obj[] };
    spec.containers[0]!['image'] = images.arm64Only;
    return object;
  };
  const r = row('real/arm64only (failures)');
  for (const kind of ['Pod', 'Deployment'] as const) {
    // The pod says where it runs: certain.
    const out = await review(engine, arm64Only(kind, { nodeSelector: { 'kubernetes.io/arch': 'amd64' } }));
    r.containers++;
    r.denies += out.allowed ? 0 : 1;
    t.same({ allowed: out.allowed, checks: out.findings.map((f) => `${f.checkId}/${f.certainty}`) }, { allowed: false, checks: ['platform/certain'] }, `${kind} with nodeSelector amd64`);
    // Only inspect.nodeArchitectures says amd64 (no Node objects here): a warning, by design.
    const guess = await review(engine, arm64Only(kind, {}));
    r.containers++;
    r.warnings += guess.warnings > 0 ? 1 : 0;
    t.same({ allowed: guess.allowed, checks: guess.findings.map((f) => `${f.checkId}/${f.certainty}`) }, { allowed: true, checks: ['platform/likely'] }, `${kind}, nodes from inspect.nodeArchitectures`);
  }
  // The same image with the pod pinned to arm64 nodes: no platform finding.
  const pinned = await review(engine, arm64Only('Pod', { nodeSelector: { 'kubernetes.io/arch': 'arm64' } }));
  t.same(pinned.findings.filter((f) => f.checkId === 'platform'), []);
});

t.test('over the size budget: the true failures are warned about, never denied', async (t) => {
  // 100 kB per image: every image here weighs more, so no file index is built at all.
  const small = await engineWith({ maxBytesPerImage: 100_000 });
  for (const e of FAILURES.filter((f) => f.check !== 'run-as-non-root' && !f.todo)) {
    const out = await review(small, workload(e, 'index'));
    // executable-present says "could not verify"; probes stays silent when it cannot tell.
    t.same(
      { allowed: out.allowed, certain: out.findings.filter((f) => f.certainty !== 'unverified').map((f) => f.checkId), unverified: out.findings.some((f) => f.certainty === 'unverified') },
      { allowed: true, certain: [], unverified: true },
      e.name,
    );
  }
  for (const e of CORPUS.filter((c) => !c.todo).slice(0, 30)) {
    const out = await review(small, workload(e, 'index'));
    t.same({ allowed: out.allowed, certain: out.findings.filter((f) => f.certainty !== 'unverified').map((f) => f.checkId) }, { allowed: true, certain: [] }, `${e.name}: only "could not verify"`);
  }
});

t.test('result table', async (t) => {
  const rows = [...table.values()].sort((a, b) => a.image.localeCompare(b.image));
  const lines = ['| image | containers checked | denies | warnings | of which only "could not verify" | false denies | false warnings | known-bug false denies | known-bug false warnings | missed failures |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|'];
  const cols = ['containers', 'denies', 'warnings', 'unverifiedOnly', 'falseDenies', 'falseWarnings', 'knownFalseDenies', 'knownFalseWarnings', 'missedFailures'] as const;
  for (const r of rows) lines.push(`| ${r.image} | ${cols.map((k) => r[k]).join(' | ')} |`);
  const sum = (k: (typeof cols)[number]) => rows.reduce((n, r) => n + r[k], 0);
  lines.push(`| total | ${cols.map(sum).join(' | ')} |`);
  t.comment(`node ${process.version}, zstd readable: ${zstdSupported()}, corpus entries ${CORPUS.length} (${CORPUS.reduce((n, e) => n + containersIn(e), 0)} containers), failures ${FAILURES.length}, shapes ${SHAPES.length}`);
  for (const l of lines) t.comment(l);
  t.equal(sum('falseDenies'), 0, 'no false deny (outside the known bugs)');
  t.equal(sum('falseWarnings'), 0, 'no false warning (outside the known bugs)');
});
