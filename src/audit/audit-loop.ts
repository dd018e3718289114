// Issue 13: the audit in `serve`: a pass every intervalMs (with jitter, so replicas restarted
// together do not scan in step), only while this replica holds the audit Lease. A failing pass
// (API server unreachable) is reported and retried at the next interval; it never stops admission.
import type { AuditedObject, AuditPassResult, AuditRow } from './audit-pass.js';
import { FailureState } from './failure-state.js';

export interface AuditLoopOptions {
  list: (signal: AbortSignal) => Promise<AuditedObject[]>;
  pass: (workloads: AuditedObject[], signal: AbortSignal) => Promise<AuditPassResult>;
  intervalMs: number;
  /** Fraction of the interval added or removed at random (0.1: +-10 %). */
  jitter: number;
  /** Whether this replica may scan now (the Lease holder); default always. */
  isLeader?: () => boolean;
  maxEntries: number;
  /** After each pass: the result and the rows that turned absent/auth_failed (one Event each). */
  onPass: (result: AuditPassResult, turnedFailing: AuditRow[]) => void | Promise<void>;
  onError: (err: unknown) => void;
  random?: () => number;
}

export interface AuditSnapshot {
  at: string;
  durationMs: number;
  result: AuditPassResult;
}

export class AuditLoop {
  readonly #opts: AuditLoopOptions;
  readonly #state: FailureState;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #last: AuditSnapshot | undefined;
  passes = 0;

  constructor(opts: AuditLoopOptions) {
    this.#opts = opts;
    this.#state = new FailureState(opts.maxEntries);
  }

  get last(): AuditSnapshot | undefined {
    return this.#last;
  }

  /** The wait before the next pass: the interval, +- jitter. */
  nextDelayMs(): number {
    const { intervalMs, jitter } = this.#opts;
    return Math.max(1, Math.round(intervalMs * (1 + jitter * (2 * (this.#opts.random ?? Math.random)() - 1))));
  }

  #tick = (): void => {
    this.#running = this.runOnce().finally(() => {
      this.#running = undefined;
      if (!this.#abort.signal.aborted) this.#timer = setTimeout(this.#tick, this.nextDelayMs());
    });
  };

  /** First pass soon (a short delay lets the Lease settle), then every interval. */
  start(firstDelayMs = 1000): void {
    this.#timer = setTimeout(this.#tick, firstDelayMs);
  }

  /** A pass now (this replica just took the Lease over), then every interval from here. */
  kick(): void {
    if (this.#running || this.#abort.signal.aborted || this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(this.#tick, 0);
  }

  /** One pass if this replica leads; the followers skip it (and forget nothing). */
  async runOnce(): Promise<void> {
    if (this.#opts.isLeader && !this.#opts.isLeader()) return;
    const started = Date.now();
    try {
      const workloads = await this.#opts.list(this.#abort.signal);
      const result = await this.#opts.pass(workloads, this.#abort.signal);
      this.passes++;
      this.#last = { at: new Date().toISOString(), durationMs: Date.now() - started, result };
      await this.#opts.onPass(result, this.#state.update(result.rows));
    } catch (err) {
      if (!this.#abort.signal.aborted) this.#opts.onError(err);
    }
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    clearTimeout(this.#timer);
    await this.#running?.catch(() => {});
  }
}
