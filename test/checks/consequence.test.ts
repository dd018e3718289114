// consequence.ts on its own: where a container stands, and the kubelet's back-off figures.
// (Every check's words under every policy: consequence-table.test.ts.)
import t from 'tap';
import { BACKOFF_INITIAL_S, BACKOFF_MAX_S, BACKOFF_RESET_S, duration, outcome, restartsAfter, situation } from '../../src/checks/consequence.js';
import { inputFor, podObject } from '../helpers/workloads.js';

const pod = (extra: Record<string, unknown>, metadata: Record<string, unknown> = {}) => {
  const o = podObject([{ name: 'app', image: 'busybox:1.36' }], extra);
  return inputFor('Pod', { ...o, metadata: { ...(o['metadata'] as object), ...metadata } });
};

t.test('a bare Pod: Always unless it says otherwise', async (t) => {
  t.match(situation(pod({})), { role: 'app', restart: 'always', job: false });
  t.match(situation(pod({ restartPolicy: 'Never' })), { restart: 'never', job: false });
  t.match(situation(pod({ restartPolicy: 'OnFailure' })), { restart: 'on-failure' });
});

t.test("a Pod a Job controls is judged as the Job's pod, without a backoffLimit it cannot see", async (t) => {
  const owned = pod({ restartPolicy: 'Never' }, { ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'j', uid: 'u', controller: true }] });
  const s = situation(owned);
  t.equal(s.job, true);
  t.equal(s.backoffLimit, undefined);
  t.equal(outcome(owned, 'error').text, 'the pod ends Failed (Error); the Job retries with new pods until BackoffLimitExceeded');
  const notController = pod({ restartPolicy: 'Never' }, { ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'j', uid: 'u' }] });
  t.equal(situation(notController).job, false, 'only the controller reference counts');
});

t.test('a Job without spec.backoffLimit uses the default, 6', async (t) => {
  const tmpl = { metadata: {}, spec: { restartPolicy: 'OnFailure', containers: [{ name: 'app', image: 'busybox:1.36' }] } };
  const job = inputFor('Job', { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', namespace: 'default' }, spec: { template: tmpl } });
  t.equal(situation(job).backoffLimit, 6);
  t.equal(outcome(job, 'start').text, 'StartError, then CrashLoopBackOff; the Job fails with BackoffLimitExceeded once its backoffLimit (6) is spent');
});

t.test('status 0: a failure only where the kubelet restarts it', async (t) => {
  t.same(outcome(pod({}), 'completed'), { fails: true, restarts: true, text: 'Completed, then CrashLoopBackOff' });
  t.same(outcome(pod({ restartPolicy: 'OnFailure' }), 'completed'), { fails: false, restarts: false, text: 'the container completes and is not restarted' });
  t.equal(restartsAfter({ role: 'init', restart: 'always', job: false }, true), false, 'an init container is meant to end');
  t.equal(restartsAfter({ role: 'init', restart: 'always', job: false }, false), true);
  t.equal(restartsAfter({ role: 'app', restart: 'on-failure', job: false }, false), true);
  t.equal(restartsAfter({ role: 'app', restart: 'never', job: false }, false), false);
});

t.test("the kubelet's back-off figures and how durations read", async (t) => {
  t.equal(BACKOFF_INITIAL_S, 10);
  t.equal(BACKOFF_MAX_S, 300);
  t.equal(BACKOFF_RESET_S, 600, 'a run of 10 min forgets the back-off');
  t.equal(duration(5), '5 s');
  t.equal(duration(90), '90 s');
  t.equal(duration(300), '5 min');
  t.equal(duration(7200), '2 h');
});
