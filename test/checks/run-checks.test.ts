import t from 'tap';
import { extractWorkload } from '../../src/admission/pod-specs.js';
import { runChecks } from '../../src/checks/run-checks.js';
import type { Check, WorkloadUnderReview } from '../../src/checks/types.js';
import { podObject } from '../helpers/workloads.js';

const workload = extractWorkload('Pod', podObject([{ name: 'a', image: 'nginx:1' }, { name: 'b', image: 'BAD' }]))! as WorkloadUnderReview;

const says = (id: string): Check => ({ id, description: id, run: (i) => [{ checkId: id, container: i.target.container.name, certainty: 'likely', message: `${id} saw ${i.image?.normalized ?? i.imageError?.reason}` }] });
// Stands for a lookup stuck on a socket (the timer keeps the event loop alive, as the socket would).
const stuck = new Set<NodeJS.Timeout>();
const hangs: Check = { id: 'hangs', description: 'never settles in time', run: () => new Promise((resolve) => { stuck.add(setTimeout(() => resolve([]), 60_000)); }) };
t.teardown(() => stuck.forEach(clearTimeout));
const throws: Check = { id: 'throws', description: 'has a bug', run: () => { throw new Error('boom'); } };

t.test('every check sees every container, with the image parsed once', async (t) => {
  const { findings, timedOut } = await runChecks(workload, { checks: [says('one')], ports: {}, signal: new AbortController().signal });
  t.equal(timedOut, 0);
  t.same(findings.map((f) => f.message).sort(), ['one saw docker.io/library/nginx:1', 'one saw invalid reference format: repository name (library/BAD) must be lowercase']);
});

t.test('a check that throws becomes an unverified finding and the others still report', async (t) => {
  const errors: string[] = [];
  const { findings } = await runChecks(workload, { checks: [throws, says('ok')], ports: {}, signal: new AbortController().signal, onCheckError: (id) => errors.push(id) });
  t.equal(findings.filter((f) => f.checkId === 'ok').length, 2);
  const bug = findings.filter((f) => f.checkId === 'throws');
  t.equal(bug.length, 2);
  t.equal(bug[0]!.certainty, 'unverified');
  t.match(bug[0]!.message, 'check throws failed inside backoff-guard (boom); allowed unchecked');
  t.same(errors, ['throws', 'throws']);
});

t.test('at the deadline unfinished checks become "could not verify" and finished ones are kept', async (t) => {
  const started = Date.now();
  const { findings, timedOut } = await runChecks(workload, { checks: [hangs, says('fast')], ports: {}, signal: AbortSignal.timeout(100) });
  const elapsed = Date.now() - started;
  t.ok(elapsed < 2000, `returned at the deadline (${elapsed} ms)`);
  t.equal(timedOut, 2);
  t.equal(findings.filter((f) => f.checkId === 'fast').length, 2);
  const late = findings.filter((f) => f.checkId === 'hangs');
  t.same(late.map((f) => [f.container, f.certainty]), [['a', 'unverified'], ['b', 'unverified']]);
  t.match(late[0]!.message, 'could not verify image "nginx:1" in time (hangs); allowed unchecked');
});

t.test('several checks waiting on one slow image make one warning per container', async (t) => {
  const alsoHangs: Check = { ...hangs, id: 'hangs-too' };
  const { findings, timedOut } = await runChecks(workload, { checks: [hangs, alsoHangs, says('fast')], ports: {}, signal: AbortSignal.timeout(100) });
  t.equal(timedOut, 4);
  const late = findings.filter((f) => f.certainty === 'unverified');
  t.same(late.map((f) => [f.container, f.checkId]), [['a', 'hangs'], ['b', 'hangs']]);
  t.equal(late[0]!.message, 'could not verify image "nginx:1" in time (hangs); allowed unchecked (and 1 more check)');
});

t.test('skipped checks and a subset of containers', async (t) => {
  const { findings } = await runChecks(workload, { checks: [says('one'), says('two')], ports: {}, signal: new AbortController().signal, skip: new Set(['two']), targets: [workload.containers[0]!] });
  t.same(findings.map((f) => `${f.container}/${f.checkId}`), ['a/one']);
});
