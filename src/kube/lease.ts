// Leader election on a coordination.k8s.io/v1 Lease, with the semantics of client-go's
// tools/leaderelection (leaderelection.go, resourcelock/leaselock.go): the holder writes
// holderIdentity, leaseDurationSeconds, acquireTime, renewTime and leaseTransitions; anyone may
// take a lease that is absent, released (empty holderIdentity) or expired
// (renewTime + leaseDurationSeconds < now); every write is a replace carrying the resourceVersion
// that was read, so of two candidates racing for one lease the API server lets exactly one win
// and answers 409 Conflict to the other.
//
// Differences from client-go, on purpose: expiry is judged from the lease's renewTime rather than
// from the local time the record was last seen to change (so clocks must be roughly in sync, as
// they are between replicas of one Deployment), and a leader whose renewal fails for any reason
// steps down at once instead of holding on until renewDeadline: it may cost a takeover, never a
// second leader.
import { CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import { apiStatus, unreachableReason } from './secrets.js';

export interface LeaseElectorOptions {
  kc: KubeConfig;
  namespace: string;
  name: string;
  /** Unique per candidate (client-go uses the pod name). */
  identity: string;
  durationSeconds: number;
  /** Called on every change of leadership, true when this candidate became the leader. */
  onChange?: (leader: boolean) => void;
  /** How often to try to acquire or renew; durationSeconds / 3 by default (client-go's RetryPeriod is of that order). */
  retryPeriodMs?: number;
  /** Per-request limit, so that a server that never answers cannot stall the loop; the retry period by default. */
  requestTimeoutMs?: number;
}

/** A one-line reason for a failed Lease call (never the response body). */
function leaseFailure(err: unknown): string {
  const code = apiStatus(err);
  if (code === 403) return 'forbidden (the service account needs get, create and update on leases.coordination.k8s.io)';
  if (code === 401) return 'unauthorized';
  if (code !== undefined) return `the API server answered HTTP ${code}`;
  return unreachableReason(err);
}

/** MicroTime comes back from the client as a string (it has no deserializer for it). */
function timeMs(t: unknown): number | undefined {
  if (t === undefined || t === null) return undefined;
  const ms = t instanceof Date ? t.getTime() : new Date(String(t)).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export class LeaseElector {
  /** Why the last attempt failed; undefined after a successful read or write. */
  lastError?: string;

  private readonly api: CoordinationV1Api;
  private readonly opts: LeaseElectorOptions;
  private readonly retryMs: number;
  private readonly timeoutMs: number;
  private leader = false;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(opts: LeaseElectorOptions) {
    if (!(opts.durationSeconds >= 1)) throw new Error(`LeaseElector: durationSeconds must be at least 1, got ${opts.durationSeconds}`);
    if (!opts.identity) throw new Error('LeaseElector: identity must not be empty (an empty holderIdentity means "released")');
    this.opts = opts;
    this.api = opts.kc.makeApiClient(CoordinationV1Api);
    this.retryMs = opts.retryPeriodMs ?? Math.max(100, Math.floor((opts.durationSeconds * 1000) / 3));
    this.timeoutMs = opts.requestTimeoutMs ?? this.retryMs;
  }

  isLeader(): boolean {
    return this.leader;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops trying and releases the lease when held (best effort: errors are kept in lastError). */
  async stop(): Promise<void> {
    const wasRunning = this.halt();
    await this.inFlight;
    if (wasRunning && this.leader) {
      try {
        await this.release();
      } catch (err) {
        this.lastError = leaseFailure(err);
      }
    }
    this.setLeader(false);
  }

  /**
   * Stops without releasing, as a process that dies would: the lease stays with this identity
   * until it expires. For tests of takeover after a crash.
   */
  async abandon(): Promise<void> {
    this.halt();
    await this.inFlight;
    this.setLeader(false);
  }

  private halt(): boolean {
    const was = this.running;
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return was;
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.inFlight = this.tick().finally(() => {
        this.inFlight = undefined;
        this.schedule(this.retryMs);
      });
    }, ms);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    try {
      this.setLeader(await this.tryAcquireOrRenew());
      this.lastError = undefined;
    } catch (err) {
      if (apiStatus(err) === 409) {
        // Someone else wrote the lease between our read and our write: they won this round.
        this.lastError = undefined;
      } else {
        this.lastError = leaseFailure(err);
      }
      this.setLeader(false);
    }
  }

  private setLeader(v: boolean): void {
    if (v === this.leader) return;
    this.leader = v;
    try {
      this.opts.onChange?.(v);
    } catch {
      // a callback's error must not stop the election loop
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, durationSeconds } = this.opts;
    const now = new V1MicroTime(Date.now());
    let lease: V1Lease;
    try {
      lease = await withTimeout(this.api.readNamespacedLease({ name, namespace }), this.timeoutMs);
    } catch (err) {
      if (apiStatus(err) !== 404) throw err;
      await withTimeout(
        this.api.createNamespacedLease({
          namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
          },
        }),
        this.timeoutMs,
      );
      return true;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewed = timeMs(spec.renewTime);
    const heldFor = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    const expired = renewed === undefined || renewed + heldFor < now.getTime();
    if (holder !== '' && holder !== identity && !expired) return false;
    const mine = holder === identity;
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { ...lease.metadata, name, namespace },
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: mine && spec.acquireTime ? new V1MicroTime(timeMs(spec.acquireTime) ?? now.getTime()) : now,
        renewTime: now,
        leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
    // metadata.resourceVersion from the read makes this an optimistic-concurrency write (409 on a race).
    await withTimeout(this.api.replaceNamespacedLease({ name, namespace, body }), this.timeoutMs);
    return true;
  }

  /** client-go's release: empty holder, 1 s duration, so others may take it at once. */
  private async release(): Promise<void> {
    const { namespace, name, identity } = this.opts;
    const lease = await withTimeout(this.api.readNamespacedLease({ name, namespace }), this.timeoutMs);
    if ((lease.spec?.holderIdentity ?? '') !== identity) return;
    const now = new V1MicroTime(Date.now());
    const spec = lease.spec ?? {};
    await withTimeout(
      this.api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: lease.metadata,
          spec: {
            ...spec,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: spec.leaseTransitions ?? 0,
          },
        },
      }),
      this.timeoutMs,
    );
  }
}
