// Issue 13: the audit as `serve` runs it: list the cluster's workloads, one pass through the
// same registry client and the same kubelet-exact pull credentials as admission, results to the
// metrics, the log and (for new failures) an Event on the workload. Loaded only when
// audit.enabled, so the webhook alone never imports it.
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Engine } from '../engine.js';
import type { Metrics } from '../metrics/metrics.js';
import { auditSummary, runAuditPass, type AuditedObject, type AuditRow } from './audit-pass.js';
import { AuditLoop, type AuditSnapshot } from './audit-loop.js';
import { RequestBudget } from './request-budget.js';
import { FAILING_STATUSES } from './failure-state.js';

export interface AuditInServe {
  loop: AuditLoop;
  /** GET /audit: the last pass (200), or 503 before the first one. */
  snapshot(): { status: number; body: unknown };
  stop(): Promise<void>;
}

/** What to tell the workload's owner, in one line: what will fail, why, the fix. */
export function eventNote(r: AuditRow): string {
  const fix = r.status === 'absent' ? 'push the image again or point the workload at an existing tag' : 'update the pull secret (or the service account\'s) with working credentials';
  return `${r.container}: ${r.image} can no longer be pulled (${r.status}: ${r.detail}); new pods (scale-up, node drain, eviction) will hit ImagePullBackOff: ${fix}`;
}

export interface AuditInServeOptions {
  config: Config;
  logger: Logger;
  engine: Engine;
  metrics: Metrics;
  /** The cluster's workloads (src/kube/workloads.ts listWorkloads). */
  list: (signal: AbortSignal) => Promise<AuditedObject[]>;
  isLeader?: () => boolean;
  /** Write one Warning Event on a workload whose image turned failing. */
  warn?: (row: AuditRow, note: string) => Promise<void>;
}

export function startAudit(opts: AuditInServeOptions): AuditInServe {
  const { config, logger, engine, metrics } = opts;
  const budget = new RequestBudget(config.audit.requestsPerMinute);
  const loop = new AuditLoop({
    list: opts.list,
    pass: (workloads, signal) =>
      runAuditPass(workloads, {
        registry: engine.registry,
        ...(engine.ports.pullSecrets ? { pullSecrets: engine.ports.pullSecrets } : {}),
        budget,
        concurrency: config.audit.concurrency,
        signal,
      }),
    intervalMs: config.audit.intervalSeconds * 1000,
    jitter: config.audit.jitter,
    maxEntries: config.cache.maxEntries,
    ...(opts.isLeader ? { isLeader: opts.isLeader } : {}),
    onPass: async (result, turned) => {
      metrics.auditPass(result, (loop.last?.durationMs ?? 0) / 1000);
      const failing = result.rows.filter((r) => FAILING_STATUSES.has(r.status)).length;
      logger.info({ workloads: result.workloads, lookups: result.lookups, requests: result.requests, failing }, 'audit pass done');
      for (const r of turned) {
        logger.warn({ namespace: r.namespace, workload: `${r.kind}/${r.name}`, container: r.container, image: r.image, status: r.status }, eventNote(r));
        await opts.warn?.(r, eventNote(r)).catch((err: Error) => logger.warn({ err: err.message }, 'cannot write the ImageUnavailable Event'));
      }
    },
    onError: (err) => {
      metrics.auditFailed();
      logger.warn({ err: (err as Error)?.message ?? String(err) }, 'audit pass failed; retrying at the next interval');
    },
  });
  loop.start();
  const snapshot = () => {
    const last: AuditSnapshot | undefined = loop.last;
    if (!last) return { status: 503, body: { error: 'no audit pass yet', leader: opts.isLeader?.() ?? true } };
    return { status: 200, body: { at: last.at, durationMs: last.durationMs, leader: opts.isLeader?.() ?? true, ...auditSummary(last.result) } };
  };
  return { loop, snapshot, stop: () => loop.stop() };
}
