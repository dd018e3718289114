// `backoff-guard check`: the same checks as the webhook, over manifest objects, for CI pipelines.
// Builds a CheckReport (one record per object and per finding, with the container's line in the
// source); the output-*.ts files print it, exitCode() says how the process ends.
//
// Exit codes (stable, documented in the README and tested in test/cli/exit-codes.test.ts):
//   0  nothing at or above --fail-on
//   1  a finding at or above --fail-on (deny by default: what the webhook would deny in enforce mode)
//   2  unusable input: a file that cannot be read or parsed, a bad option or config; this wins
//      over 1, as the result is incomplete
import { carriesPodSpec, extractWorkload } from '../admission/pod-specs.js';
import type { CheckPorts } from '../checks/ports.js';
import { runChecks } from '../checks/run-checks.js';
import type { Check, Finding, WorkloadUnderReview } from '../checks/types.js';
import { parseReference } from '../image/reference.js';
import { findingParts } from '../admission/verdict.js';
import type { ManifestDoc, ManifestError } from './manifests.js';

/** deny: the webhook would reject the object in enforce mode (certain); warning: it would admit it with a warning. */
export type FindingVerdict = 'deny' | 'warning';
export type FailOn = 'deny' | 'warning';

export interface Located {
  /** The file the line refers to; null for standard input and rendered output (kustomize). */
  file: string | null;
  /** What was read: a path, "<stdin>" or "kubectl kustomize DIR". */
  input: string;
  /** 1-based document in the input. */
  document: number;
  line: number | null;
  column: number | null;
  /** helm template's "# Source:" template for the document, when given. */
  template: string | null;
  kind: string;
  namespace: string | null;
  name: string;
}

export interface ObjectRecord extends Located {
  verdict: 'pass' | FindingVerdict;
  findings: number;
}

export interface FindingRecord extends Located {
  container: string;
  /** JSON path of the container in the object, e.g. spec.template.spec.containers[0]. */
  containerPath: string | null;
  checkId: string;
  verdict: FindingVerdict;
  certainty: Finding['certainty'];
  message: string;
  fix: string | null;
}

export interface CheckReport {
  objects: ObjectRecord[];
  findings: FindingRecord[];
  errors: ManifestError[];
  summary: { objects: number; denied: number; warnings: number; unreadable: number };
}

export interface Progress {
  start(total: number): void;
  /** An object's checks began; `registries` are the hosts its images are pulled from. */
  begin(registries: readonly string[]): void;
  end(registries: readonly string[]): void;
  finish(): void;
}

export interface CheckRunOptions {
  checks: readonly Check<CheckPorts>[];
  ports: CheckPorts;
  timeoutMs: number;
  progress?: Progress;
}

function describe(object: unknown): { kind: string; name: string; namespace: string | null } {
  const o = (object ?? {}) as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
  return {
    kind: typeof o.kind === 'string' ? o.kind : '?',
    name: typeof o.metadata?.name === 'string' ? o.metadata.name : '?',
    namespace: typeof o.metadata?.namespace === 'string' ? o.metadata.namespace : null,
  };
}

function registriesOf(workload: WorkloadUnderReview): string[] {
  const hosts = new Set<string>();
  for (const t of workload.containers) {
    if (!t.container.image) continue;
    try {
      hosts.add(parseReference(t.container.image).domain || '?');
    } catch {
      // An image that does not parse is not looked up.
    }
  }
  return [...hosts];
}

function located(doc: ManifestDoc, what: { kind: string; name: string; namespace: string | null }, path?: string): Located {
  const at = (path !== undefined ? doc.locate(path) : undefined) ?? doc.position;
  return {
    file: doc.file ?? null,
    input: doc.input,
    document: doc.document,
    line: at?.line ?? null,
    column: at?.column ?? null,
    template: doc.template ?? null,
    ...what,
  };
}

export async function checkManifests(docs: readonly ManifestDoc[], errors: readonly ManifestError[], opts: CheckRunOptions): Promise<CheckReport> {
  const workloads = docs.flatMap((doc) => {
    const what = describe(doc.object);
    return carriesPodSpec(what.kind) ? [{ doc, what, workload: extractWorkload(what.kind, doc.object) }] : [];
  });
  opts.progress?.start(workloads.length);
  const results = await Promise.all(
    workloads.map(async ({ doc, what, workload }) => {
      if (!workload) {
        opts.progress?.end([]);
        return { doc, what, workload, findings: [] as Finding[] };
      }
      const registries = registriesOf(workload);
      opts.progress?.begin(registries);
      try {
        const { findings } = await runChecks(workload, { checks: opts.checks, ports: opts.ports, signal: AbortSignal.timeout(opts.timeoutMs) });
        return { doc, what, workload, findings };
      } finally {
        opts.progress?.end(registries);
      }
    }),
  );
  opts.progress?.finish();

  const report: CheckReport = { objects: [], findings: [], errors: [...errors], summary: { objects: 0, denied: 0, warnings: 0, unreadable: errors.length } };
  for (const r of results) {
    let worst: ObjectRecord['verdict'] = 'pass';
    for (const f of r.findings) {
      const verdict: FindingVerdict = f.certainty === 'certain' ? 'deny' : 'warning';
      if (verdict === 'deny') report.summary.denied++;
      else report.summary.warnings++;
      if (verdict === 'deny' || worst === 'pass') worst = verdict;
      const target = r.workload?.containers.find((c) => c.container.name === f.container);
      const parts = findingParts(f);
      const message = parts.detail ? `${parts.what} (${parts.detail})` : parts.what;
      const fix = parts.fix ?? null;
      report.findings.push({
        ...located(r.doc, r.what, target?.path),
        container: f.container,
        containerPath: target?.path ?? null,
        checkId: f.checkId,
        verdict,
        certainty: f.certainty,
        message,
        fix,
      });
    }
    report.objects.push({ ...located(r.doc, r.what), verdict: worst, findings: r.findings.length });
    report.summary.objects++;
  }
  return report;
}

export function exitCode(report: CheckReport, failOn: FailOn): 0 | 1 | 2 {
  if (report.summary.unreadable > 0) return 2;
  if (report.summary.denied > 0) return 1;
  if (failOn === 'warning' && report.summary.warnings > 0) return 1;
  return 0;
}
