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

/**
 * One review's deadline: a single timer, and an AbortSignal created only when something asks for
 * it (a review answered from caches never does; creating one costs more than the rest of such a
 * review). At `ms` the signal aborts; `slackMs` later `onHardStop` runs, so an answer is sent even
 * if a check ignores its signal. `done()` releases the timer.
 */
export class Deadline {
  #controller: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #expired = false;
  onHardStop: (() => void) | undefined;

  constructor(
    readonly ms: number,
    slackMs: number,
  ) {
    this.#timer = setTimeout(() => {
      this.#expired = true;
      this.#controller?.abort(this.#reason());
      this.#timer = setTimeout(() => this.onHardStop?.(), slackMs);
    }, ms);
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#expired) this.#controller.abort(this.#reason());
    }
    return this.#controller.signal;
  }

  done(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.onHardStop = undefined;
  }

  #reason(): DOMException {
    return new DOMException(`deadline of ${this.ms} ms exceeded`, 'TimeoutError');
  }
}

/** A review's signal, given as is or through a Deadline that creates it on demand. */
export type SignalSource = AbortSignal | { readonly signal: AbortSignal };

export function signalOf(source: SignalSource): AbortSignal {
  return source instanceof AbortSignal ? source : source.signal;
}
