import t from 'tap';
import { createMetrics } from '../../src/metrics/metrics.js';
import type { ReviewOutcome } from '../../src/admission/handle-review.js';

const outcome = (allowed: boolean, extra: Partial<ReviewOutcome> = {}): ReviewOutcome => ({
  response: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u', allowed } },
  mode: 'enforce',
  findings: [{ checkId: 'image-exists', container: 'a', certainty: 'certain', message: 'm' }],
  timedOut: 0,
  ...extra,
});

t.test('each review, lookup, registry request and 429 is counted under its labels', async (t) => {
  const m = createMetrics({ defaultMetrics: false });
  m.review('Deployment', 'CREATE', outcome(false), 0.002, undefined);
  m.review('Pod', 'CREATE', outcome(true, { skipped: 'namespace kube-system is exempt', findings: [] }), 0.0001, undefined);
  m.review('Pod', 'UPDATE', outcome(true, { timedOut: 2, findings: [] }), 2.9, undefined);
  m.review('Pod', 'CREATE', undefined, 3.1, 'error');
  m.lookup({ status: 'found', registry: 'docker.io' }, true);
  m.registryRequest('quay.io', '429');
  m.rateLimited('quay.io');
  const text = await m.render();
  t.match(text, /^backoff_guard_reviews_total\{kind="Deployment",operation="CREATE",verdict="denied"\} 1$/m);
  t.match(text, /^backoff_guard_reviews_total\{kind="Pod",operation="CREATE",verdict="skipped"\} 1$/m);
  t.match(text, /^backoff_guard_reviews_total\{kind="Pod",operation="UPDATE",verdict="allowed"\} 1$/m);
  t.match(text, /^backoff_guard_reviews_total\{kind="Pod",operation="CREATE",verdict="failed_open"\} 1$/m);
  t.match(text, /^backoff_guard_findings_total\{check="image-exists",certainty="certain"\} 1$/m);
  t.match(text, /^backoff_guard_deadline_exceeded_total 1$/m);
  t.match(text, /^backoff_guard_review_duration_seconds_count\{verdict="denied"\} 1$/m);
  t.match(text, /^backoff_guard_image_lookups_total\{registry="docker\.io",result="found",cache="hit"\} 1$/m);
  t.match(text, /^backoff_guard_registry_requests_total\{registry="quay\.io",status="429"\} 1$/m);
  t.match(text, /^backoff_guard_registry_rate_limited_total\{registry="quay\.io"\} 1$/m);
});

t.test('two instances do not share a registry', async (t) => {
  const a = createMetrics({ defaultMetrics: false });
  const b = createMetrics({ defaultMetrics: false });
  a.rateLimited('x');
  t.notMatch(await b.render(), /backoff_guard_registry_rate_limited_total\{/);
});
