// The time a review may take: the API server's own timeout (it appends ?timeout=10s to the URL,
// apiserver pkg/admission/plugin/webhook/request), minus a safety margin for the network and the
// response, capped by the configured budget. Whatever is unfinished then becomes a warning.

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration ("10s", "1m30s", "500ms"); undefined when it is not one. */
export function parseGoDuration(text: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  return matched === text.length && matched > 0 ? total : undefined;
}

export const DEFAULT_API_SERVER_TIMEOUT_MS = 10_000;
/** Never less than this: a review always gets a chance to use its caches. */
export const MIN_DEADLINE_MS = 50;

export function deadlineMs(timeoutParam: string | undefined, budgetMs: number, safetyMarginMs: number): number {
  const parsed = timeoutParam ? parseGoDuration(timeoutParam) : undefined;
  const apiServer = parsed ?? DEFAULT_API_SERVER_TIMEOUT_MS;
  // A short webhook timeout (timeoutSeconds: 1) keeps three quarters of it rather than nothing.
  const margin = Math.min(safetyMarginMs, apiServer / 4);
  return Math.max(MIN_DEADLINE_MS, Math.min(budgetMs, apiServer - margin));
}
