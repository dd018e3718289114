// The hot-path counter and histogram print exactly what prom-client's own Counter and Histogram
// print for the same updates (the Prometheus text format), and reset like them.
import t from 'tap';
import { Counter, Histogram, Registry } from 'prom-client';
import { HotCounter, HotHistogram } from '../../src/metrics/hot-path.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

t.test('HotCounter: the same exposition as a prom-client Counter', async (t) => {
  const theirs = new Registry();
  const ours = new Registry();
  const c = new Counter({ name: 'x_reviews_total', help: 'Reviews, by kind "and" verdict\\.', labelNames: ['kind', 'operation', 'verdict'], registers: [theirs] });
  const h = new HotCounter('x_reviews_total', 'Reviews, by kind "and" verdict\\.', ['kind', 'operation', 'verdict'], ours);
  t.equal(await ours.metrics(), await theirs.metrics(), 'no series yet: HELP and TYPE only');
  const updates: Array<[string, string, string]> = [
    ['Deployment', 'CREATE', 'allowed'],
    ['Pod', 'CREATE', 'denied'],
    ['Deployment', 'CREATE', 'allowed'],
    ['Deployment', 'UPDATE', 'warned'],
    ['Pod', 'CREATE', 'denied'],
    ['Deployment', 'CREATE', 'allowed'],
    ['odd "kind"\n', 'CREATE', 'allowed'],
  ];
  for (const [kind, operation, verdict] of updates) {
    c.inc({ kind, operation, verdict });
    h.inc(kind, operation, verdict);
  }
  const text = await ours.metrics();
  t.equal(text, await theirs.metrics());
  t.match(text, 'x_reviews_total{kind="Deployment",operation="CREATE",verdict="allowed"} 3');
  t.match(text, 'x_reviews_total{kind="odd \\"kind\\"\\n",operation="CREATE",verdict="allowed"} 1', 'label values escaped');
  c.reset();
  h.reset();
  t.equal(await ours.metrics(), await theirs.metrics(), 'after reset');
});

t.test('HotHistogram: the same exposition as a prom-client Histogram', async (t) => {
  const theirs = new Registry();
  const ours = new Registry();
  const p = new Histogram({ name: 'x_duration_seconds', help: 'Time to answer.', labelNames: ['verdict'], buckets: BUCKETS, registers: [theirs] });
  const h = new HotHistogram('x_duration_seconds', 'Time to answer.', 'verdict', BUCKETS, ours);
  t.equal(await ours.metrics(), await theirs.metrics(), 'no series yet');
  // Values on the bucket bounds (le is inclusive), between them, above the last and at zero.
  const values = [0, 0.0005, 0.0004, 0.0011, 0.01, 0.0100001, 3, 10, 11, 1e-9, 0.25];
  for (const [i, v] of values.entries()) {
    const verdict = ['allowed', 'denied', 'warned'][i % 3]!;
    p.observe({ verdict }, v);
    h.observe(verdict, v);
  }
  const text = await ours.metrics();
  t.equal(text, await theirs.metrics());
  t.match(text, 'x_duration_seconds_bucket{le="0.0005",verdict="allowed"} 2');
  t.match(text, 'x_duration_seconds_bucket{le="+Inf",verdict="allowed"} 4');
  t.match(text, 'x_duration_seconds_count{verdict="denied"} 4');
  p.reset();
  h.reset();
  t.equal(await ours.metrics(), await theirs.metrics(), 'after reset');
});

t.test('HotHistogram: a value that is not a number is not counted (prom-client throws)', async (t) => {
  const ours = new Registry();
  const h = new HotHistogram('y_seconds', 'y', 'verdict', [1], ours);
  h.observe('allowed', Number.NaN);
  h.observe('allowed', Number.POSITIVE_INFINITY);
  h.observe('allowed', 0.5);
  t.match(await ours.metrics(), 'y_seconds_count{verdict="allowed"} 1');
});
