// `--output github`: GitHub Actions workflow commands, which the runner turns into annotations on
// the pull request's files ("Workflow commands for GitHub Actions", docs.github.com:
// `::error file={name},line={line},col={col},title={title}::{message}`, and `::warning …`).
// Escaping as the runner's own toolkit does it (actions/toolkit packages/core/src/command.ts,
// escapeData and escapeProperty): in the message % CR LF become %25 %0D %0A; in property values
// also ':' and ',' become %3A and %2C, as they delimit the properties.
import type { CheckReport, FindingRecord } from './check.js';
import { isAbsolute, relative, sep } from 'node:path';
import { findingLine, summaryLine } from './output-text.js';

export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export function command(name: 'error' | 'warning', properties: Record<string, string | number | null | undefined>, message: string): string {
  const props = Object.entries(properties)
    .filter((e): e is [string, string | number] => e[1] !== null && e[1] !== undefined)
    .map(([k, v]) => `${k}=${escapeProperty(String(v))}`)
    .join(',');
  return `::${name}${props ? ` ${props}` : ''}::${escapeData(message)}`;
}

/** GitHub matches annotation paths against the repository: relative to the workspace, with '/'. */
function repoPath(file: string, root: string): string {
  const rel = relative(root, file);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? file : rel.split(sep).join('/');
}

function annotation(f: FindingRecord, root: string): string {
  const text = `container ${JSON.stringify(f.container)} of ${f.kind}/${f.name}: ${f.message}${f.fix !== null ? `; fix: ${f.fix}` : ''}`;
  // A line number only means something in a file GitHub has: not for standard input or kustomize output.
  const at = f.file !== null ? { file: repoPath(f.file, root), line: f.line, col: f.column } : {};
  return command(f.verdict === 'deny' ? 'error' : 'warning', { ...at, title: `backoff-guard ${f.checkId}` }, f.file !== null ? text : findingLine(f));
}

export function githubOutput(report: CheckReport, root: string): string {
  const lines = report.errors.map((e) => command('error', { title: 'backoff-guard: unreadable input' }, `${e.source}: ${e.message}`));
  lines.push(...report.findings.map((f) => annotation(f, root)));
  lines.push(`backoff-guard: ${summaryLine(report.summary)}`);
  return `${lines.join('\n')}\n`;
}
