// Metrics updated once per review, on the warm path, without prom-client's per-call label work:
// prom-client's inc() and observe() validate the label names and build a sorted hash string of
// the labels on every call (about a microsecond each, a visible share of a memoized review).
// These keep their series in a Map keyed by the label values joined with a NUL, and hand
// prom-client's Registry the same data its own Counter and Histogram would (getForPromString),
// so the exposition is identical (test/metrics/hot-path.test.ts compares them line for line).
import type { Registry } from 'prom-client';

interface PromValue {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  value: number;
  metricName?: string;
}

interface PromData {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: PromValue[];
  aggregator: 'sum';
}

const SEP = '\u0000';

function labelsOf(names: readonly string[], values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  names.forEach((n, i) => (labels[n] = values[i]!));
  return labels;
}

/** What prom-client's Registry asks of a metric: its name, its data, and a reset. */
abstract class HotMetric<S> {
  abstract readonly type: PromData['type'];
  readonly aggregator = 'sum';
  protected readonly series = new Map<string, S>();

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  protected abstract values(): PromValue[];

  async getForPromString(): Promise<PromData> {
    return { name: this.name, help: this.help, type: this.type, values: this.values(), aggregator: this.aggregator };
  }

  async get(): Promise<PromData> {
    return this.getForPromString();
  }

  reset(): void {
    this.series.clear();
  }
}

/** A counter with fixed label names, incremented by label values in the order of `labelNames`. */
export class HotCounter extends HotMetric<{ labels: Record<string, string>; value: number }> {
  readonly type = 'counter';

  constructor(
    name: string,
    help: string,
    readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    super(name, help, registry);
  }

  inc(...labelValues: string[]): void {
    const key = labelValues.join(SEP);
    const s = this.series.get(key);
    if (s) s.value++;
    else this.series.set(key, { labels: labelsOf(this.labelNames, labelValues), value: 1 });
  }

  protected values(): PromValue[] {
    return [...this.series.values()].map((s) => ({ labels: s.labels, value: s.value }));
  }
}

/** A histogram with one label. */
export class HotHistogram extends HotMetric<{ labels: Record<string, string>; buckets: Float64Array; sum: number; count: number }> {
  readonly type = 'histogram';

  constructor(
    name: string,
    help: string,
    readonly labelName: string,
    readonly upperBounds: readonly number[],
    registry: Registry,
  ) {
    super(name, help, registry);
  }

  observe(labelValue: string, value: number): void {
    if (!Number.isFinite(value)) return;
    let s = this.series.get(labelValue);
    if (!s) {
      s = { labels: { [this.labelName]: labelValue }, buckets: new Float64Array(this.upperBounds.length), sum: 0, count: 0 };
      this.series.set(labelValue, s);
    }
    const b = this.upperBounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    if (i < b.length) s.buckets[i]!++;
    s.sum += value;
    s.count++;
  }

  protected values(): PromValue[] {
    const values: PromValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      let acc = 0;
      this.upperBounds.forEach((le, i) => {
        acc += s.buckets[i]!;
        values.push({ labels: { le }, sharedLabels: s.labels, value: acc, metricName: bucket });
      });
      values.push(
        { labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: bucket },
        { labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` },
      );
    }
    return values;
  }
}
