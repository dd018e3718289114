// handleReview through the real engine in offline mode (no registry needed for these rules).
// Namespace labels come through their port: here a plain function standing in for the API
// server's answer (the real reader is exercised by the end-to-end suite against kube-apiserver).
import t from 'tap';
import { pino } from 'pino';
import { handleReview } from '../../src/admission/handle-review.js';
import { reviewFor } from '../../src/admission/review.js';
import { loadConfig } from '../../src/config/load.js';
import { createEngine } from '../../src/engine.js';
import { deploymentObject, podObject } from '../helpers/workloads.js';

const config = loadConfig({ document: { kubernetes: { enabled: 'off' } } });
const labels: Record<string, Record<string, string>> = {
  relaxed: { 'backoff-guard.io/mode': 'warn' },
  silent: { 'backoff-guard.io/mode': 'off' },
};
const engine = await createEngine(config, {
  logger: pino({ level: 'silent' }),
  offline: true,
  ownNamespace: 'backoff-guard',
  namespaceLabels: async (ns) => labels[ns] ?? {},
});
t.teardown(() => engine.close());
const signal = () => AbortSignal.timeout(2000);
const crash = podObject([{ name: 'app', image: 'busybox:1.36', command: ['exit', '1'] }]);

t.test('enforce (default): denied', async (t) => {
  const o = await engine.review(reviewFor(crash, { namespace: 'apps' }), signal());
  t.equal(o.response.response.allowed, false);
  t.equal(o.mode, 'enforce');
});

t.test('a namespace labelled warn: allowed, with the would-be deny as a warning', async (t) => {
  const o = await engine.review(reviewFor(crash, { namespace: 'relaxed' }), signal());
  t.equal(o.response.response.allowed, true);
  const w = o.response.response.warnings?.[0] ?? '';
  t.match(w, /^\[command-sanity\] would be denied \(warn mode\): container "app": command "exit" is a shell builtin\b/, 'the check id first, then the warn-mode prefix');
  t.match(w, 'exec: "exit": executable file not found in $PATH');
  t.ok(w.endsWith('(StartError, then CrashLoopBackOff); fix: run it in a shell, command: ["sh", "-c", "exit 1"]'), `consequence and fix kept: ${w}`);
});

t.test('a namespace labelled off: allowed silently, nothing checked', async (t) => {
  const o = await engine.review(reviewFor(crash, { namespace: 'silent' }), signal());
  t.same(o.response.response, { uid: o.response.response.uid, allowed: true });
  t.equal(o.skipped, 'mode off in namespace silent');
});

t.test("the webhook's own namespace is exempt", async (t) => {
  const o = await engine.review(reviewFor(crash, { namespace: 'backoff-guard' }), signal());
  t.equal(o.response.response.allowed, true);
  t.equal(o.skipped, 'namespace backoff-guard is exempt');
});

t.test('labels that cannot be read fall back to the default mode', async (t) => {
  const failing = { ...engine.reviewDeps, namespaceLabels: async () => { throw new Error('forbidden'); } };
  const o = await handleReview(reviewFor(crash, { namespace: 'apps' }), signal(), failing);
  t.equal(o.response.response.allowed, false);
});

t.test('subresources and CONNECT are not inspected', async (t) => {
  const status = reviewFor(crash);
  status.request.subResource = 'status';
  status.request.operation = 'UPDATE';
  t.equal((await engine.review(status, signal())).skipped, 'subresource status');
  const connect = reviewFor(crash, { operation: 'CONNECT' });
  t.equal((await engine.review(connect, signal())).skipped, 'operation CONNECT');
});

t.test('an UPDATE that changes no container is not checked', async (t) => {
  const before = deploymentObject([{ name: 'app', image: 'busybox:1.36', command: ['exit', '1'] }]);
  const after = structuredClone(before) as { spec: { replicas: number } };
  after.spec.replicas = 3;
  const o = await engine.review(reviewFor(after as Record<string, unknown>, { operation: 'UPDATE', oldObject: before }), signal());
  t.equal(o.response.response.allowed, true);
  t.equal(o.skipped, 'no container changed');
});

t.test('a pod spec that is not an object is allowed (the API server validates objects)', async (t) => {
  const o = await engine.review(reviewFor({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: 'nonsense' }), signal());
  t.equal(o.response.response.allowed, true);
  t.equal(o.skipped, 'object has no pod spec');
});
