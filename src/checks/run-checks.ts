// Runs every check over every container in parallel, under one deadline.
// - One check's bug never hides the others' findings: an exception becomes an "unverified" finding.
// - The deadline is absolute: when it fires, unfinished checks become "could not verify" warnings
//   and the verdict is built from what is known. Their lookups go on in the background and fill
//   the caches, so the next review of the same image (the ReplicaSet's pods) is answered at once.
import { InvalidReferenceError, parseReference, type ImageReference } from '../image/reference.js';
import type { Check, CheckInput, ContainerTarget, Finding, WorkloadUnderReview } from './types.js';

export interface RunOptions<P> {
  checks: readonly Check<P>[];
  ports: P;
  /** Aborts at the deadline. */
  signal: AbortSignal;
  /** Check ids to skip (from the workload's skip annotation). */
  skip?: ReadonlySet<string>;
  /** Only these containers (UPDATE: the changed ones); default all. */
  targets?: readonly ContainerTarget[];
  /** Called when a check throws: the error is a bug in backoff-guard, worth a log line. */
  onCheckError?: (checkId: string, container: string, err: unknown) => void;
}

export interface RunResult {
  findings: Finding[];
  /** Checks that had not finished at the deadline. */
  timedOut: number;
}

function parseImage(image: string | undefined): Pick<CheckInput, 'image' | 'imageError'> {
  if (image === undefined || image === '') return {};
  try {
    return { image: parseReference(image) };
  } catch (err) {
    if (err instanceof InvalidReferenceError) return { imageError: err };
    throw err;
  }
}

function describeImage(image: ImageReference | undefined, fallback: string | undefined): string {
  return JSON.stringify(image?.original ?? fallback ?? '');
}

export async function runChecks<P>(workload: WorkloadUnderReview, opts: RunOptions<P>): Promise<RunResult> {
  const targets = opts.targets ?? workload.containers;
  const checks = opts.checks.filter((c) => !opts.skip?.has(c.id));
  const settled: Finding[][] = [];
  const pending = new Map<number, { check: Check<P>; input: CheckInput }>();
  const runs: Promise<void>[] = [];
  let slot = 0;

  for (const target of targets) {
    const input: CheckInput = { workload, target, signal: opts.signal, ...parseImage(target.container.image) };
    for (const check of checks) {
      const id = slot++;
      pending.set(id, { check, input });
      runs.push(
        (async () => {
          let out: Finding[];
          try {
            out = await check.run(input, opts.ports);
          } catch (err) {
            opts.onCheckError?.(check.id, target.container.name, err);
            out = [
              {
                checkId: check.id,
                container: target.container.name,
                certainty: 'unverified',
                message: `check ${check.id} failed inside backoff-guard (${(err as Error)?.message ?? String(err)}); allowed unchecked`,
              },
            ];
          }
          if (pending.delete(id)) settled[id] = out;
        })(),
      );
    }
  }

  let onAbort: () => void = () => undefined;
  const deadline = new Promise<void>((resolve) => {
    onAbort = () => resolve();
    if (opts.signal.aborted) resolve();
    else opts.signal.addEventListener('abort', onAbort, { once: true });
  });
  await Promise.race([Promise.all(runs), deadline]);
  // The signal outlives the review (the route's deadline timer): drop the listener, and with it
  // this run's state, now rather than when the deadline fires.
  opts.signal.removeEventListener('abort', onAbort);

  const findings = settled.filter(Boolean).flat();
  const timedOut = pending.size;
  // One warning per container for the checks that did not finish, in a stable order: several
  // checks waiting on one slow image would otherwise print the same line once each.
  const late = new Map<ContainerTarget, { input: CheckInput; ids: string[] }>();
  for (const { check, input } of pending.values()) {
    const entry = late.get(input.target) ?? { input, ids: [] };
    entry.ids.push(check.id);
    late.set(input.target, entry);
  }
  for (const { input, ids } of late.values()) {
    const others = ids.length > 1 ? ` (and ${ids.length - 1} more check${ids.length > 2 ? 's' : ''})` : '';
    findings.push({
      checkId: ids[0]!,
      container: input.target.container.name,
      certainty: 'unverified',
      message: `could not verify image ${describeImage(input.image, input.target.container.image)} in time (${ids[0]}); allowed unchecked${others}`,
    });
  }
  pending.clear();
  return { findings, timedOut };
}
