// From findings and a mode to what kubectl prints: a deny message and Warning lines.
//
// Warning rules (apiserver pkg/warning, admission/plugin/webhook/validating): a warning containing
// a newline is dropped silently; kubectl adds the "Warning: " prefix itself; once the total passes
// 4096 characters each item is cut to 256 runes, and items past the budget are dropped. We keep
// each line under 256 and the sum under 4096 ourselves, most important first, so nothing is lost
// without saying so.
import type { Mode } from '../config/schema.js';
import type { Certainty, Finding } from '../checks/types.js';

export const MAX_WARNING_CHARS = 256;
export const MAX_WARNINGS_TOTAL = 4096;

export interface Verdict {
  allowed: boolean;
  /** Set when denied: the one message after "denied the request: ". */
  message?: string;
  warnings: string[];
}

const RANK: Record<Certainty, number> = { certain: 0, likely: 1, unverified: 2 };

/** One line, no control characters, no "Warning:" prefix. */
export function oneLine(text: string): string {
  return text
    .replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ')
    .replace(/\s{2,}/g, ' ')
    .replace(/^\s*warning:\s*/i, '')
    .trim();
}

/** Cuts to `max` code points (runes), marking the cut. */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

export function formatFinding(f: Finding): string {
  return oneLine(`container ${JSON.stringify(f.container)}: ${f.message} [${f.checkId}]`);
}

/** Builds warning lines within the API server's limits, most important first. */
export function formatWarnings(findings: readonly Finding[], prefixFor: (f: Finding) => string = () => ''): string[] {
  const sorted = [...findings].sort((a, b) => RANK[a.certainty] - RANK[b.certainty]);
  const out: string[] = [];
  let total = 0;
  for (let i = 0; i < sorted.length; i++) {
    const f = sorted[i]!;
    const line = truncate(oneLine(prefixFor(f) + formatFinding(f)), MAX_WARNING_CHARS);
    const remaining = sorted.length - i - 1;
    const reserve = remaining > 0 ? 64 : 0;
    if (total + line.length + reserve > MAX_WARNINGS_TOTAL) {
      out.push(`${sorted.length - i} more backoff-guard findings not shown; run backoff-guard check on the manifest to see them all`);
      break;
    }
    out.push(line);
    total += line.length;
  }
  return out;
}

/**
 * enforce: certain findings deny, the others warn. warn: everything warns (certain ones say they
 * would have been denied). off: nothing.
 */
export function decide(findings: readonly Finding[], mode: Mode): Verdict {
  if (mode === 'off' || findings.length === 0) return { allowed: true, warnings: [] };
  const certain = findings.filter((f) => f.certainty === 'certain');
  if (mode === 'warn' || certain.length === 0) {
    return { allowed: true, warnings: formatWarnings(findings, (f) => (f.certainty === 'certain' ? 'would be denied (warn mode): ' : '')) };
  }
  const message = certain.map(formatFinding).join('; ');
  return { allowed: false, message, warnings: formatWarnings(findings.filter((f) => f.certainty !== 'certain')) };
}
