// `backoff-guard check -f <file|dir|->`: the same checks as the webhook, over manifest files, for
// CI pipelines. One line per finding; exit 1 when any finding would be denied, 2 on unreadable input.
import { carriesPodSpec, extractWorkload } from '../admission/pod-specs.js';
import { formatFinding } from '../admission/verdict.js';
import type { CheckPorts } from '../checks/ports.js';
import { runChecks } from '../checks/run-checks.js';
import type { Check, Finding } from '../checks/types.js';
import type { ManifestDoc, ManifestError } from './manifests.js';

export interface CheckRunOptions {
  checks: readonly Check<CheckPorts>[];
  ports: CheckPorts;
  timeoutMs: number;
  /** Print a line (stdout). */
  out: (line: string) => void;
}

export interface CheckSummary {
  objects: number;
  denied: number;
  warnings: number;
  errors: number;
  exitCode: 0 | 1 | 2;
}

function describe(object: unknown): { kind: string; name: string } {
  const o = (object ?? {}) as { kind?: unknown; metadata?: { name?: unknown } };
  return { kind: typeof o.kind === 'string' ? o.kind : '?', name: typeof o.metadata?.name === 'string' ? o.metadata.name : '?' };
}

export async function checkManifests(docs: readonly ManifestDoc[], errors: readonly ManifestError[], opts: CheckRunOptions): Promise<CheckSummary> {
  let objects = 0;
  let denied = 0;
  let warnings = 0;
  for (const e of errors) opts.out(`ERROR ${e.source}: ${e.message}`);
  const results = await Promise.all(
    docs.map(async (doc) => {
      const { kind, name } = describe(doc.object);
      if (!carriesPodSpec(kind)) return { doc, kind, name, findings: undefined as Finding[] | undefined };
      const workload = extractWorkload(kind, doc.object);
      if (!workload) return { doc, kind, name, findings: [] };
      const { findings } = await runChecks(workload, { checks: opts.checks, ports: opts.ports, signal: AbortSignal.timeout(opts.timeoutMs) });
      return { doc, kind, name, findings };
    }),
  );
  for (const r of results) {
    if (!r.findings) continue;
    objects++;
    for (const f of r.findings) {
      const level = f.certainty === 'certain' ? 'DENY' : 'WARN';
      if (level === 'DENY') denied++;
      else warnings++;
      opts.out(`${level}  ${r.doc.source} ${r.kind}/${r.name} ${formatFinding(f)}`);
    }
  }
  opts.out(`${objects} object${objects === 1 ? '' : 's'} checked: ${denied} would be denied, ${warnings} warning${warnings === 1 ? '' : 's'}${errors.length ? `, ${errors.length} unreadable` : ''}`);
  const exitCode = errors.length > 0 ? 2 : denied > 0 ? 1 : 0;
  return { objects, denied, warnings, errors: errors.length, exitCode };
}
