// `backoff-guard audit`: one audit pass (issue 13) from a workstation or a CI job: list the
// workloads of the cluster (or one namespace), look up each distinct image once with the
// credentials its pods use, print a table (or JSON). Exit 1 when an image is absent or its
// credentials are refused: those workloads will hit ImagePullBackOff on their next pull.
import { auditSummary, type AuditPassResult, type AuditRow } from '../audit/audit-pass.js';
import { FAILING_STATUSES as FAILING } from '../audit/failure-state.js';

export function auditExitCode(result: AuditPassResult): number {
  return result.rows.some((r) => FAILING.has(r.status)) ? 1 : 0;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

const order = (r: AuditRow) => (FAILING.has(r.status) ? 0 : r.status === 'available' ? 2 : 1);

/** "1 container", "2 containers": the summary is read by people. */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

export function auditText(result: AuditPassResult): string {
  const rows = [...result.rows].sort((a, b) => order(a) - order(b) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  const head = ['NAMESPACE', 'KIND', 'NAME', 'CONTAINER', 'IMAGE', 'STATUS', 'DETAIL'];
  const body = rows.map((r) => [r.namespace, r.kind, r.name, r.container, r.image, r.status, r.status === 'available' ? '' : r.detail]);
  const failing = result.rows.filter((r) => FAILING.has(r.status)).length;
  const summary =
    `${count(result.workloads, 'workload')}, ${count(result.rows.length, 'container')}, ${count(result.lookups, 'distinct image')} looked up (${count(result.requests, 'registry HEAD request')})` +
    (failing ? `; ${count(failing, 'container')} will fail to pull: ImagePullBackOff on ${failing === 1 ? 'its' : 'their'} next start` : '');
  return `${rows.length ? `${table([head, ...body])}\n` : 'no workloads found\n'}${summary}\n`;
}

export function auditJson(result: AuditPassResult): string {
  return `${JSON.stringify(auditSummary(result), null, 2)}\n`;
}
