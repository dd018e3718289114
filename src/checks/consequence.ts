// What a failure leads to, given where the container stands. The one place that words a
// consequence: every check names the failure (the runtime cannot start the process, the process
// exits, the container cannot be created, the image cannot be pulled) and asks here what the
// person will see in `kubectl get pods` / `kubectl describe`.
//
// The rules (kubelet kuberuntime_manager.go computePodActions / doBackOff, pkg/kubelet/container
// ShouldContainerBeRestarted, Job controller pkg/controller/job):
// - restartPolicy Always (a bare Pod's default and the only policy of Deployments, ReplicaSets,
//   StatefulSets, DaemonSets): a container that ends, with any status, is restarted; once it ends
//   again within the back-off window the kubelet waits 10 s, 20 s, ... 5 min between starts and
//   the pod shows CrashLoopBackOff ("Back-off restarting failed container").
// - OnFailure: only a non-zero end (StartError, Error, OOMKilled) is restarted, in place, with the
//   same back-off; a Job counts those restarts against spec.backoffLimit (default 6) and then
//   fails with BackoffLimitExceeded.
// - Never: nothing is restarted; the pod ends Failed (or Succeeded). A Job replaces a failed pod
//   with a new one until backoffLimit is spent (BackoffLimitExceeded).
// - Init containers follow the pod's policy, show as Init:<reason> / Init:CrashLoopBackOff, and
//   block every app container until they succeed; a restartable init container (a sidecar) is
//   restarted whatever the pod's policy.
// - Ephemeral containers are never restarted.
// - A container that cannot be created (CreateContainerConfigError, CreateContainerError) or
//   pulled (ErrImagePull, then ImagePullBackOff) never started, so no restart policy applies:
//   the kubelet retries it forever and the pod stays Pending.
import type { CheckInput } from './types.js';

/**
 * How the container fails:
 * - start: the runtime cannot start the process (`exec: ...`), container reason StartError;
 * - error: the process exits with a non-zero status, reason Error;
 * - oom: the process is OOM-killed, reason OOMKilled;
 * - completed: the process exits with status 0, reason Completed (a failure only where it is restarted);
 * - probe: the kubelet kills it because its liveness or startup probe fails;
 * - create: the container cannot be created (the reason given, e.g. CreateContainerConfigError);
 * - pull: the image cannot be pulled (ErrImagePull, then ImagePullBackOff).
 */
export type Failure = 'start' | 'error' | 'oom' | 'completed' | 'probe' | 'create' | 'pull';

export type Role = 'app' | 'init' | 'sidecar' | 'ephemeral';
export type Restart = 'always' | 'on-failure' | 'never';

export interface Situation {
  role: Role;
  /** The pod's restartPolicy as it applies to this container's role. */
  restart: Restart;
  /** The pod belongs to a Job (a Job or CronJob template, or a Pod a Job controls). */
  job: boolean;
  /** The Job's spec.backoffLimit when known (default 6), undefined for a Pod a Job controls. */
  backoffLimit?: number;
}

export interface Outcome {
  /** False when this end is not a failure here (status 0 where nothing is restarted). */
  fails: boolean;
  /** Whether the kubelet starts the container again after this end. */
  restarts: boolean;
  /** What the person sees, e.g. "StartError, then CrashLoopBackOff" or "the pod ends Failed (Error)". */
  text: string;
}

export const DEFAULT_BACKOFF_LIMIT = 6;

const REASON: Record<Exclude<Failure, 'create' | 'pull' | 'probe'>, string> = { start: 'StartError', error: 'Error', oom: 'OOMKilled', completed: 'Completed' };

function isJobKind(kind: string | undefined): boolean {
  return kind === 'Job' || kind === 'CronJob';
}

export function situation(input: Pick<CheckInput, 'workload' | 'target'>): Situation {
  const { workload, target } = input;
  const job = isJobKind(workload.kind) || isJobKind(workload.controllerKind);
  // A Job's template must say Never or OnFailure (the API server refuses Always); an absent value
  // there is read as Never, the common choice.
  const podPolicy = workload.podSpec.restartPolicy ?? (job ? 'Never' : 'Always');
  const restart: Restart = podPolicy === 'OnFailure' ? 'on-failure' : podPolicy === 'Never' ? 'never' : 'always';
  const role: Role = target.kind === 'ephemeralContainer' ? 'ephemeral' : target.kind === 'initContainer' ? (target.sidecar ? 'sidecar' : 'init') : 'app';
  const backoffLimit = isJobKind(workload.kind) ? (workload.backoffLimit ?? DEFAULT_BACKOFF_LIMIT) : undefined;
  return {
    role,
    restart: role === 'sidecar' ? 'always' : role === 'ephemeral' ? 'never' : restart,
    job,
    ...(backoffLimit !== undefined ? { backoffLimit } : {}),
  };
}

function jobGivesUp(s: Situation): string {
  return `the Job fails with BackoffLimitExceeded once its backoffLimit${s.backoffLimit !== undefined ? ` (${s.backoffLimit})` : ''} is spent`;
}

/** Whether the kubelet restarts the container after it ends this way (status 0 or not). */
export function restartsAfter(s: Situation, zeroStatus: boolean): boolean {
  if (s.role === 'init' && zeroStatus) return false; // an init container is meant to end
  return s.restart === 'always' || (s.restart === 'on-failure' && !zeroStatus);
}

/** What the failure leads to for this container. */
export function outcome(input: Pick<CheckInput, 'workload' | 'target'>, failure: Failure, reason?: string): Outcome {
  const s = situation(input);
  const init = s.role === 'init' || s.role === 'sidecar';
  const blocks = s.role === 'init' || (s.role === 'sidecar' && failure === 'start') ? '; the app containers never start' : '';

  if (failure === 'pull') {
    const p = init ? 'Init:' : '';
    return { fails: true, restarts: true, text: `${p}ErrImagePull, then ${p}ImagePullBackOff${init ? '; the app containers never start' : ''}` };
  }
  if (failure === 'create') {
    const r = reason ?? 'CreateContainerError';
    return { fails: true, restarts: true, text: `${init ? 'Init:' : ''}${r}: the container waits${init ? ', and so do the app containers,' : ''} until that is fixed` };
  }

  const zero = failure === 'completed';
  const restarts = restartsAfter(s, zero);
  const why = failure === 'probe' ? `killed by the kubelet once its ${reason ?? 'liveness'} probe fails` : undefined;
  const R = failure === 'probe' ? 'Error' : (reason ?? REASON[failure]);

  if (zero && !restarts) {
    // Status 0 where nothing restarts it: it completes. Not a failure (the checks decide whether
    // completing at once is worth a word).
    const text =
      s.role === 'init'
        ? 'the init container completes and the app containers start'
        : s.role === 'ephemeral'
          ? 'the ephemeral container completes'
          : s.job
            ? 'the pod completes and the Job counts it as succeeded'
            : 'the container completes and is not restarted';
    return { fails: false, restarts: false, text };
  }

  if (s.role === 'ephemeral') {
    return { fails: true, restarts: false, text: `${why ? `${why}, ` : ''}the ephemeral container ends in ${R} and is never restarted` };
  }
  const prefix = init ? 'Init:' : '';
  if (restarts) {
    let text = `${why ? `${why}, ` : ''}${prefix}${R}, then ${prefix}CrashLoopBackOff${blocks}`;
    if (s.role === 'sidecar' && failure !== 'start') text = `${why ? `${why}, ` : ''}${R}, then CrashLoopBackOff (a sidecar is always restarted)`;
    if (s.job && s.restart === 'on-failure' && s.role !== 'sidecar') text += `; ${jobGivesUp(s)}`;
    return { fails: true, restarts: true, text };
  }
  // restartPolicy Never
  const podEnds = `the pod ends Failed (${why ? `${why}, ` : ''}${prefix}${R})`;
  if (s.job) return { fails: true, restarts: false, text: `${podEnds}${blocks}; the Job retries with new pods until BackoffLimitExceeded${s.backoffLimit !== undefined ? ` (backoffLimit ${s.backoffLimit})` : ''}` };
  return { fails: true, restarts: false, text: `${podEnds} and is never restarted${blocks}` };
}

/**
 * The kubelet's restart back-off (pkg/kubelet/kubelet.go backOffPeriod 10 s, MaxContainerBackOff
 * 5 min; client-go flowcontrol.Backoff): the delay doubles on every end that comes within
 * 2 x 5 min of the previous start, and is forgotten when a run lasted longer than that. A process
 * that lives 10 minutes or more is restarted at once, every time, and never shows CrashLoopBackOff.
 */
export const BACKOFF_INITIAL_S = 10;
export const BACKOFF_MAX_S = 300;
export const BACKOFF_RESET_S = 2 * BACKOFF_MAX_S;

/** A run time as a person says it: "45 s", "5 min", "1 h". */
export function duration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds * 10) / 10} s`;
  if (seconds < 7200) return `${Math.round(seconds / 6) / 10} min`;
  return `${Math.round(seconds / 360) / 10} h`;
}
