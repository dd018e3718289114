// The default output of `backoff-guard check`: one line per finding for a person, then a summary.
//   DENY  deploy.yaml:21:9 Deployment/web [check-id] container "app": <what, why>; fix: <fix>
// (the same order as the webhook's messages: the check id, the container, what happens, the fix)
import type { CheckReport, FindingRecord } from './check.js';

/** One line: control characters (newlines included) become spaces. */
export function flat(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').replace(/\s{2,}/g, ' ').trim();
}

/** "file:line:column" when the position is known, else "input#document". */
export function where(r: Pick<FindingRecord, 'input' | 'document' | 'line' | 'column'>): string {
  return r.line !== null ? `${r.input}:${r.line}${r.column !== null ? `:${r.column}` : ''}` : `${r.input}#${r.document}`;
}

export function summaryLine(s: CheckReport['summary']): string {
  return `${s.objects} object${s.objects === 1 ? '' : 's'} checked: ${s.denied} would be denied, ${s.warnings} warning${s.warnings === 1 ? '' : 's'}${s.unreadable ? `, ${s.unreadable} unreadable` : ''}`;
}

export function findingLine(f: FindingRecord): string {
  const text = f.fix !== null ? `${f.message}; fix: ${f.fix}` : f.message;
  return `${f.verdict === 'deny' ? 'DENY' : 'WARN'}  ${flat(`${where(f)} ${f.kind}/${f.name} [${f.checkId}] container ${JSON.stringify(f.container)}: ${text}`)}`;
}

export function textOutput(report: CheckReport): string {
  const lines = report.errors.map((e) => `ERROR ${e.source}: ${e.message}`);
  lines.push(...report.findings.map(findingLine));
  lines.push(summaryLine(report.summary));
  return `${lines.join('\n')}\n`;
}
