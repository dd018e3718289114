// "Did you mean ...?" for image names and tags. Pure: no I/O, no project imports.

/**
 * Optimal-string-alignment distance (restricted Damerau-Levenshtein):
 * insertions, deletions, substitutions and transpositions of two adjacent
 * characters each cost 1, and no substring is edited twice. Transpositions
 * count once because 'ngnix' for 'nginx' is the typo people make.
 * Works on code points, so a non-BMP character is one character.
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const s = Array.from(a);
  const t = Array.from(b);
  const n = s.length;
  const m = t.length;
  if (n === 0) return m;
  if (m === 0) return n;
  // Three rolling rows: the transposition looks two rows back.
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    for (let j = 1; j <= m; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) {
        d = Math.min(d, (prev2[j - 2] as number) + 1);
      }
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[m] as number;
}

export interface ClosestOptions {
  /** How many suggestions at most (default 3). */
  max?: number;
  /**
   * The largest suggestion distance kept (see suggestionDistance). Default:
   * a third of the input's length, at least 1, so one typo is always
   * forgiven and longer names may carry proportionally more.
   */
  maxDistance?: number;
}

/**
 * The candidates closest to `input`, best first: by suggestion distance, then
 * (for version-like strings) by how much of the version they share, then by
 * name. Returns [] when `input` is itself a candidate: nothing to correct.
 */
export function closestMatches(input: string, candidates: Iterable<string>, opts: ClosestOptions = {}): string[] {
  const max = opts.max ?? 3;
  const maxDistance = opts.maxDistance ?? Math.max(1, Math.floor(Array.from(input).length / 3));
  const scored: { name: string; distance: number; version: VersionKey }[] = [];
  const seen = new Set<string>();
  for (const c of candidates) {
    if (c === input) return [];
    if (seen.has(c)) continue;
    seen.add(c);
    const distance = suggestionDistance(input, c);
    if (distance <= maxDistance) scored.push({ name: c, distance, version: versionKey(input, c) });
  }
  scored.sort(
    (x, y) =>
      x.distance - y.distance ||
      y.version.shared - x.version.shared ||
      x.version.lengthDiff - y.version.lengthDiff ||
      x.version.gap - y.version.gap ||
      (x.name < y.name ? -1 : x.name > y.name ? 1 : 0),
  );
  return scored.slice(0, Math.max(0, max)).map((s) => s.name);
}

/** Separators after which a longer name or tag is a more specific variant: '1.14' -> '1.14.2', 'alpine' -> 'alpine-3'. */
const VARIANT_SEPARATORS = new Set(['.', '-', '_', '+']);
/** Differences that are cosmetic rather than typos (case, a leading 'v' on a version) cost half an edit. */
const COSMETIC_COST = 0.5;

/**
 * How far `candidate` is from `input` as a suggestion:
 * - the edit distance;
 * - or half an edit more than the distance after folding case and dropping a
 *   leading 'v' before a digit, so 'v1.2.3' ~ '1.2.3' and 'Latest' ~ 'latest'
 *   beat any real one-character typo;
 * - or 1 when one is the other plus a separator-led suffix ('1.14' and
 *   '1.14.2', '3.19-alpine' and '3.19'): the same release line.
 */
export function suggestionDistance(input: string, candidate: string): number {
  let d = editDistance(input, candidate);
  const a = fold(input);
  const b = fold(candidate);
  if (a !== input || b !== candidate) d = Math.min(d, editDistance(a, b) + COSMETIC_COST);
  if (isVariantOf(a, b) || isVariantOf(b, a)) d = Math.min(d, 1);
  return d;
}

function fold(s: string): string {
  const lower = s.toLowerCase();
  return /^v\d/.test(lower) ? lower.slice(1) : lower;
}

/** True when `longer` is `shorter` followed by a separator and more. */
function isVariantOf(shorter: string, longer: string): boolean {
  return shorter.length > 0 && longer.length > shorter.length + 1 && longer.startsWith(shorter) && VARIANT_SEPARATORS.has(longer[shorter.length] as string);
}

interface VersionKey {
  /** Leading numeric components equal in both (more is closer). */
  shared: number;
  /** Difference in the number of numeric components (fewer is closer). */
  lengthDiff: number;
  /** Numeric gap at the first differing component (smaller is closer). */
  gap: number;
}

const NEUTRAL: VersionKey = { shared: 0, lengthDiff: 0, gap: 0 };

/** Compares the dotted numeric prefixes of two version-like strings ('v1.14.2-alpine' -> [1, 14, 2]). */
function versionKey(input: string, candidate: string): VersionKey {
  const a = numericPrefix(input);
  const b = numericPrefix(candidate);
  if (a === undefined || b === undefined) return NEUTRAL;
  let shared = 0;
  while (shared < a.length && shared < b.length && a[shared] === b[shared]) shared++;
  const gap = shared < a.length && shared < b.length ? Math.abs((a[shared] as number) - (b[shared] as number)) : 0;
  return { shared, lengthDiff: Math.abs(a.length - b.length), gap };
}

function numericPrefix(s: string): number[] | undefined {
  const m = /^v?(\d+(?:\.\d+)*)/i.exec(s);
  return m === null ? undefined : (m[1] as string).split('.').map(Number);
}
