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

const runes = (s: string): number => Array.from(s).length;

/** A finding's parts: what will happen (and why), the fix, the long detail. */
export interface FindingParts {
  what: string;
  fix?: string;
  detail?: string;
}

/** Reads the parts, also from a message that still carries its fix as "...; fix: ...". */
export function findingParts(f: Finding): FindingParts {
  const detail = f.detail ? oneLine(f.detail) : undefined;
  if (f.fix !== undefined) return { what: oneLine(f.message), fix: oneLine(f.fix), ...(detail ? { detail } : {}) };
  const at = f.message.lastIndexOf('; fix: ');
  if (at < 0) return { what: oneLine(f.message), ...(detail ? { detail } : {}) };
  return { what: oneLine(f.message.slice(0, at)), fix: oneLine(f.message.slice(at + 7)), ...(detail ? { detail } : {}) };
}

function assemble(head: string, p: FindingParts, withDetail: boolean): string {
  return `${head}${p.what}${p.fix ? `; fix: ${p.fix}` : ''}${withDetail && p.detail ? ` (${p.detail})` : ''}`;
}

const headOf = (f: Finding, prefix = ''): string => `[${f.checkId}] ${prefix}container ${JSON.stringify(f.container)}: `;

/** The whole finding in one line: the deny message, the CLI and the log keep all of it. */
export function formatFinding(f: Finding): string {
  return oneLine(assemble(headOf(f), findingParts(f), true));
}

/** Shortens a quoted value to `keep` runes, keeping its start and its end (an image's tag). */
function shortenQuoted(q: string, keep: number): string {
  const inner = Array.from(q.slice(1, -1));
  if (inner.length <= keep) return q;
  const tail = Math.ceil((keep - 1) * 0.6);
  return `"${inner.slice(0, keep - 1 - tail).join('')}…${inner.slice(inner.length - tail).join('')}"`;
}

/**
 * One warning within `max` runes, laid out so that what is cut is the least useful part: the
 * check id, the container, what will happen and the fix come first; the detail goes first, then
 * long quoted values (image names, scripts) are shortened in the middle, then the middle of the
 * "what" part; the fix is cut only if it alone does not fit.
 */
export function formatWarning(f: Finding, prefix = '', max = MAX_WARNING_CHARS): string {
  const head = oneLine(headOf(f, prefix)) + ' ';
  const p = findingParts(f);
  let line = assemble(head, p, true);
  if (runes(line) <= max) return line;
  line = assemble(head, p, false);
  if (runes(line) <= max) return line;
  // Shorten the longest quoted values of "what", down to 24 runes each.
  let what = p.what;
  for (let guard = 0; guard < 50 && runes(assemble(head, { ...p, what }, false)) > max; guard++) {
    const quoted = [...what.matchAll(/"(?:[^"\\]|\\.)*"/g)].map((m) => m[0]).filter((m) => runes(m) > 26);
    if (quoted.length === 0) break;
    const longest = quoted.reduce((a, b) => (runes(b) > runes(a) ? b : a));
    const excess = runes(assemble(head, { ...p, what }, false)) - max;
    what = what.replace(longest, shortenQuoted(longest, Math.max(24, runes(longest) - 2 - excess)));
  }
  line = assemble(head, { ...p, what }, false);
  if (runes(line) <= max) return line;
  // Still too long: cut the middle of "what", keeping its start and its end (the consequence).
  const room = max - runes(assemble(head, { ...p, what: '' }, false));
  if (room >= 20) {
    // The end of "what" says what will happen (the consequence): keep two thirds of it there.
    const chars = Array.from(what);
    const tail = Math.floor(((room - 1) * 2) / 3);
    return assemble(head, { ...p, what: `${chars.slice(0, room - 1 - tail).join('')}…${chars.slice(chars.length - tail).join('')}` }, false);
  }
  return truncate(line, max);
}

/** Builds warning lines within the API server's limits, most important first. */
export function formatWarnings(findings: readonly Finding[], prefixFor: (f: Finding) => string = () => ''): string[] {
  const sorted = [...findings].sort((a, b) => RANK[a.certainty] - RANK[b.certainty]);
  const out: string[] = [];
  let total = 0;
  for (let i = 0; i < sorted.length; i++) {
    const f = sorted[i]!;
    const line = formatWarning(f, prefixFor(f));
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
  const message = certain.map(formatFinding).join(' | ');
  return { allowed: false, message, warnings: formatWarnings(findings.filter((f) => f.certainty !== 'certain')) };
}
