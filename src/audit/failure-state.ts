// Issue 13: which failures are new, so an Event is written once when a workload's image turns
// absent or auth_failed and not again while the state holds (a pass every 15 minutes must not
// spam the workload's events). Bounded: at most `maxEntries` remembered (cache.maxEntries).
import type { AuditRow } from './audit-pass.js';

export const FAILING_STATUSES: ReadonlySet<string> = new Set(['absent', 'auth_failed']);

export class FailureState {
  readonly #last = new Map<string, string>();
  constructor(private readonly maxEntries: number) {}

  /** The rows of this pass that turned failing since the last pass; forgets what is gone. */
  update(rows: readonly AuditRow[]): AuditRow[] {
    const seen = new Set<string>();
    const turned: AuditRow[] = [];
    for (const r of rows) {
      const key = `${r.workload.uid}\u0000${r.container}\u0000${r.image}`;
      seen.add(key);
      const before = this.#last.get(key);
      // Statuses that cannot tell (unreachable, rate_limited, unverified) keep the previous state:
      // a registry blip between two "absent" passes must not produce a second Event.
      if (!FAILING_STATUSES.has(r.status) && r.status !== 'available') continue;
      if (FAILING_STATUSES.has(r.status) && before !== r.status) turned.push(r);
      this.#last.delete(key);
      this.#last.set(key, r.status);
    }
    for (const key of this.#last.keys()) if (!seen.has(key)) this.#last.delete(key);
    while (this.#last.size > this.maxEntries) this.#last.delete(this.#last.keys().next().value as string);
    return turned;
  }
}
