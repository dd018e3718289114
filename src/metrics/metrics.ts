// Prometheus metrics (prom-client), on a registry of their own so that several instances
// (tests) never collide. Names follow the Prometheus conventions: a backoff_guard_ prefix,
// _total for counters, base units (seconds) in histogram names.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ReviewOutcome } from '../admission/handle-review.js';
import type { ImageLookup } from '../checks/ports.js';
import type { AuditPassResult } from '../audit/audit-pass.js';
import { HotCounter, HotHistogram } from './hot-path.js';

export interface Metrics {
  readonly contentType: string;
  render(): Promise<string>;
  review(kind: string, operation: string, outcome: ReviewOutcome | undefined, seconds: number, failure: 'deadline' | 'error' | undefined): void;
  lookup(result: ImageLookup, cached: boolean): void;
  registryRequest(registry: string, status: string): void;
  rateLimited(registry: string): void;
  /** A request that counts against the registry's pull quota (a manifest GET, pull-cost.ts). */
  countedPull(registry: string): void;
  /** The registry's ratelimit-remaining as its last answer stated it. */
  rateLimitRemaining(registry: string, remaining: number): void;
  /** A shared cache operation (get, set, lock, wait) and how it ended (hit, miss, stored, fallback...). */
  sharedCache(op: string, result: string): void;
  /** The shared cache could not be used and the local cache answered instead, by reason. */
  sharedCacheFallback(reason: string): void;
  /** Issue 13: one audit pass; replaces every workload image status with this pass's. */
  auditPass(result: AuditPassResult, seconds: number): void;
  auditFailed(): void;
  /** 1 while this replica holds the audit Lease. */
  auditLeader(leader: boolean): void;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'backoff_guard_' });
  // Updated on every review: without prom-client's per-call label hashing (hot-path.ts).
  const reviews = new HotCounter(
    'backoff_guard_reviews_total',
    'AdmissionReviews answered, by kind, operation and verdict (allowed, warned, denied, skipped, failed_open).',
    ['kind', 'operation', 'verdict'],
    registry,
  );
  const findings = new Counter({
    name: 'backoff_guard_findings_total',
    help: 'Findings reported, by check id and certainty (certain, likely, unverified).',
    labelNames: ['check', 'certainty'],
    registers: [registry],
  });
  const duration = new HotHistogram(
    'backoff_guard_review_duration_seconds',
    'Time to answer an AdmissionReview, from body parsed to response built.',
    'verdict',
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registry,
  );
  const deadlines = new Counter({
    name: 'backoff_guard_deadline_exceeded_total',
    help: 'Reviews answered at their deadline with checks still running (allowed with "could not verify").',
    registers: [registry],
  });
  const lookups = new Counter({
    name: 'backoff_guard_image_lookups_total',
    help: 'Image lookups by registry, result (found, not-found, unauthorized, rate-limited, unreachable) and cache (hit, miss).',
    labelNames: ['registry', 'result', 'cache'],
    registers: [registry],
  });
  const requests = new Counter({
    name: 'backoff_guard_registry_requests_total',
    help: 'HTTP requests sent to registries, by registry and HTTP status (or error kind).',
    labelNames: ['registry', 'status'],
    registers: [registry],
  });
  const backoffs = new Counter({
    name: 'backoff_guard_registry_rate_limited_total',
    help: 'Registry answers of 429 Too Many Requests (backoff-guard then waits before asking that registry again).',
    labelNames: ['registry'],
    registers: [registry],
  });

  const counted = new Counter({
    name: 'backoff_guard_registry_counted_pulls_total',
    help: "Requests that count against the registry's pull quota (Docker Hub: each GET of /v2/<name>/manifests/<ref>; HEAD, token and blob requests are free), by registry.",
    labelNames: ['registry'],
    registers: [registry],
  });
  const remainingGauge = new Gauge({
    name: 'backoff_guard_registry_ratelimit_remaining',
    help: "The registry's ratelimit-remaining header as its last answer stated it (Docker Hub: pulls left in the window for this address or account).",
    labelNames: ['registry'],
    registers: [registry],
  });
  const shared = new Counter({
    name: 'backoff_guard_shared_cache_operations_total',
    help: 'Shared cache (Redis) operations by op (get, set, lock, wait) and result (hit, miss, stored, acquired, held, fallback).',
    labelNames: ['op', 'result'],
    registers: [registry],
  });
  const fallbacks = new Counter({
    name: 'backoff_guard_shared_cache_fallbacks_total',
    help: 'Shared cache operations that fell back to the local cache, by reason (timeout, unavailable, error, garbage).',
    labelNames: ['reason'],
    registers: [registry],
  });

  // Issue 13, after deckhouse's k8s-image-availability-exporter: one series per container of a
  // running workload, value 1, the status as a label (its labels: namespace, container, image,
  // kind, name), so its alerts translate to `backoff_guard_workload_image_status{status="absent"} == 1`.
  const imageStatus = new Gauge({
    name: 'backoff_guard_workload_image_status',
    help: 'Audit: 1 for the status (available, absent, auth_failed, rate_limited, unreachable, unverified) of each container image of each running workload at the last pass.',
    labelNames: ['namespace', 'kind', 'name', 'container', 'image', 'status'],
    registers: [registry],
  });
  const auditPasses = new Counter({ name: 'backoff_guard_audit_passes_total', help: 'Audit passes, by result (ok, error).', labelNames: ['result'], registers: [registry] });
  const auditLookups = new Gauge({ name: 'backoff_guard_audit_lookups', help: 'Audit: distinct images looked up at the last pass (one manifest HEAD each per credential).', registers: [registry] });
  const auditDuration = new Gauge({ name: 'backoff_guard_audit_duration_seconds', help: 'Audit: time the last pass took.', registers: [registry] });
  const auditLeaderGauge = new Gauge({ name: 'backoff_guard_audit_leader', help: '1 while this replica holds the audit Lease and scans; 0 otherwise.', registers: [registry] });

  return {
    contentType: registry.contentType,
    auditPass(result, seconds) {
      imageStatus.reset();
      for (const r of result.rows) imageStatus.set({ namespace: r.namespace, kind: r.kind, name: r.name, container: r.container, image: r.image, status: r.status }, 1);
      auditPasses.inc({ result: 'ok' });
      auditLookups.set(result.lookups);
      auditDuration.set(seconds);
    },
    auditFailed() {
      auditPasses.inc({ result: 'error' });
    },
    auditLeader(leader) {
      auditLeaderGauge.set(leader ? 1 : 0);
    },
    countedPull(registryName) {
      counted.inc({ registry: registryName });
    },
    rateLimitRemaining(registryName, remaining) {
      remainingGauge.set({ registry: registryName }, remaining);
    },
    sharedCache(op, result) {
      shared.inc({ op, result });
    },
    sharedCacheFallback(reason) {
      fallbacks.inc({ reason });
    },
    render: () => registry.metrics(),
    review(kind, operation, outcome, seconds, failure) {
      let verdict: string;
      if (failure) verdict = 'failed_open';
      else if (!outcome) verdict = 'failed_open';
      else if (outcome.skipped) verdict = 'skipped';
      else if (!outcome.response.response.allowed) verdict = 'denied';
      else if (outcome.response.response.warnings?.length) verdict = 'warned';
      else verdict = 'allowed';
      reviews.inc(kind, operation, verdict);
      duration.observe(verdict, seconds);
      if (failure === 'deadline' || (outcome && outcome.timedOut > 0)) deadlines.inc();
      for (const f of outcome?.findings ?? []) findings.inc({ check: f.checkId, certainty: f.certainty });
    },
    lookup(result, cached) {
      lookups.inc({ registry: result.registry, result: result.status, cache: cached ? 'hit' : 'miss' });
    },
    registryRequest(registryName, status) {
      requests.inc({ registry: registryName, status });
    },
    rateLimited(registryName) {
      backoffs.inc({ registry: registryName });
    },
  };
}
