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

/** The API server sends the same ?timeout= on every review: the last one parsed is kept. */
let lastTimeout: { text: string; ms: number | undefined } | undefined;

export function deadlineMs(timeoutParam: string | undefined, budgetMs: number, safetyMarginMs: number): number {
  let parsed: number | undefined;
  if (timeoutParam) {
    if (lastTimeout?.text !== timeoutParam) lastTimeout = { text: timeoutParam, ms: parseGoDuration(timeoutParam) };
    parsed = lastTimeout.ms;
  }
  const apiServer = parsed ?? DEFAULT_API_SERVER_TIMEOUT_MS;
  // A short webhook timeout (timeoutSeconds: 1) keeps three quarters of it rather than nothing.
  const margin = Math.min(safetyMarginMs, apiServer / 4);
  return Math.max(MIN_DEADLINE_MS, Math.min(budgetMs, apiServer - margin));
}

/**
 * One timer for every review in flight. Node's setTimeout per review looked cheap in a loop
 * (~1 us) but measured 6-13 us per review in the server (a timer list created and dropped, and
 * the loop's reference toggled, on every request: 4-7 % of a whole no-op HTTPS review). Here a
 * review's deadline is a link in a list per length (the API server sends the same timeout every
 * time, so there is one list, in order of expiry); done() unlinks it, and the one timer is armed
 * for the earliest head. Under load it fires about once per deadline length; with nothing in
 * flight it is unref'd, so it never holds a process open.
 */
class DeadlineClock {
  readonly #lists = new Map<number, DeadlineList>();
  #timer: NodeJS.Timeout | undefined;
  /** When the timer fires (performance.now() time), Infinity when it is not armed. */
  #armedFor = Infinity;
  #live = 0;

  add(d: Deadline): void {
    let list = this.#lists.get(d.ms);
    if (!list) this.#lists.set(d.ms, (list = { head: undefined, tail: undefined }));
    d.prev = list.tail;
    d.next = undefined;
    if (list.tail) list.tail.next = d;
    else list.head = d;
    list.tail = d;
    d.list = list;
    if (this.#live++ === 0) this.#timer?.ref();
    if (d.expiresAt < this.#armedFor) this.#arm(d.expiresAt);
  }

  remove(d: Deadline): void {
    const list = d.list;
    if (!list) return;
    if (d.prev) d.prev.next = d.next;
    else list.head = d.next;
    if (d.next) d.next.prev = d.prev;
    else list.tail = d.prev;
    d.prev = d.next = d.list = undefined;
    if (--this.#live === 0) this.#timer?.unref();
  }

  #arm(at: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#armedFor = at;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, Math.ceil(at - performance.now())));
    if (this.#live === 0) this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    const now = performance.now();
    const expired: Deadline[] = [];
    let next = Infinity;
    for (const [ms, list] of this.#lists) {
      while (list.head && list.head.expiresAt <= now) {
        const d = list.head;
        this.remove(d);
        expired.push(d);
      }
      if (list.head) next = Math.min(next, list.head.expiresAt);
      else this.#lists.delete(ms);
    }
    if (next < Infinity) this.#arm(next);
    if (expired.length > 1) expired.sort((a, b) => a.expiresAt - b.expiresAt);
    for (const d of expired) d.expire();
  }
}

interface DeadlineList {
  head: Deadline | undefined;
  tail: Deadline | undefined;
}

const clock = new DeadlineClock();

/**
 * One review's deadline, on the shared clock, and an AbortSignal created only when something
 * asks for it (a review answered from caches never does; creating one costs more than the rest
 * of such a review). At `ms` the signal aborts; `slackMs` later `onHardStop` runs, so an answer
 * is sent even if a check ignores its signal. `done()` releases it.
 */
export class Deadline {
  #controller: AbortController | undefined;
  #hardStop: NodeJS.Timeout | undefined;
  #expired = false;
  readonly #slackMs: number;
  onHardStop: (() => void) | undefined;
  /** performance.now() time of the deadline. */
  readonly expiresAt: number;
  /** The clock's links (internal). */
  prev: Deadline | undefined;
  next: Deadline | undefined;
  list: DeadlineList | undefined;

  constructor(
    readonly ms: number,
    slackMs: number,
  ) {
    this.#slackMs = slackMs;
    this.expiresAt = performance.now() + ms;
    clock.add(this);
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#expired) this.#controller.abort(this.#reason());
    }
    return this.#controller.signal;
  }

  /** Called by the clock at the deadline. */
  expire(): void {
    this.#expired = true;
    this.#controller?.abort(this.#reason());
    // Rare (a review past its deadline): a timer of its own.
    this.#hardStop = setTimeout(() => this.onHardStop?.(), this.#slackMs);
  }

  done(): void {
    clock.remove(this);
    if (this.#hardStop) clearTimeout(this.#hardStop);
    this.#hardStop = undefined;
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
