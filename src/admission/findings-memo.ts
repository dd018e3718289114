// Findings of recently checked pod templates, reused for identical ones: the API server sends the
// same template again and again (apply retries, rollouts, a ReplicaSet's pods, GitOps loops),
// and every check is a pure function of the workload model and of facts that are cached anyway.
// Only definite answers are kept: no "could not verify" finding, nothing cut by the deadline, and
// no facts provider answered "cannot tell" during the run (many checks stay silent then, and a
// silence is not an answer). The ports are watched for that through the review's signal, which
// every port call carries. An answer is never staler than (the facts' TTL + this TTL).
// The key is a hash of everything the checks read.
import { hash } from 'node:crypto';
import type { CheckPorts, ImageLookup } from '../checks/ports.js';
import type { ContainerTarget, Finding, WorkloadUnderReview } from '../checks/types.js';
import { TtlCache } from '../util/ttl-cache.js';

/** What the key reads of a workload: its head (rawPodSpec), or a model built without one. */
export type MemoKeyParts = Pick<WorkloadUnderReview, 'kind' | 'namespace' | 'replicas' | 'backoffLimit' | 'controllerKind'> &
  Partial<Pick<WorkloadUnderReview, 'podSpec' | 'containers' | 'rawPodSpec'>>;

export interface FindingsMemoOptions {
  ttlMs: number;
  maxEntries: number;
  now?: () => number;
}

export class FindingsMemo {
  readonly #cache: TtlCache<string, readonly Finding[]>;
  readonly #ttlMs: number;
  /** Reviews (by their signal) during which a facts provider could not tell. */
  readonly #uncertain = new WeakSet<AbortSignal>();

  constructor(opts: FindingsMemoOptions) {
    this.#cache = new TtlCache(opts.maxEntries, opts.now);
    this.#ttlMs = opts.ttlMs;
  }

  get enabled(): boolean {
    return this.#ttlMs > 0;
  }

  get stats(): { hits: number; misses: number; size: number } {
    return { hits: this.#cache.hits, misses: this.#cache.misses, size: this.#cache.size };
  }

  /**
   * What the checks read: the kind, namespace and replica count, the pod spec as sent (the
   * model's pod spec and containers are built from it alone), which containers are checked and
   * which checks are skipped. Not the name, and not the annotations: no check reads them (the
   * skip annotation is here as the set of skipped checks). It needs only a workload's head
   * (pod-specs.ts workloadHead), so a review answered from the memo never builds the model.
   * `targets`: 'all', or the containers an UPDATE changed.
   */
  key(workload: MemoKeyParts, targets: readonly ContainerTarget[] | 'all', skip: ReadonlySet<string>): string | undefined {
    const spec = workload.rawPodSpec ?? [workload.podSpec, workload.containers];
    const which = targets === 'all' || targets.length === workload.containers?.length ? 0 : targets.map((t) => t.path);
    const skipped = skip.size === 0 ? 0 : [...skip].sort();
    try {
      return hash('sha256', JSON.stringify([workload.kind, workload.namespace ?? null, workload.replicas ?? null, workload.backoffLimit ?? null, workload.controllerKind ?? null, spec, which, skipped]), 'base64');
    } catch {
      // A spec nested deeper than JSON.stringify's stack allows: checked, never remembered.
      return undefined;
    }
  }

  get(key: string): readonly Finding[] | undefined {
    return this.#cache.get(key);
  }

  /** Keeps definite findings only: a "could not verify" must be asked again next time. */
  remember(key: string, findings: readonly Finding[], timedOut: number, signal: AbortSignal): boolean {
    if (!this.enabled || timedOut > 0 || this.#uncertain.has(signal) || findings.some((f) => f.certainty === 'unverified')) return false;
    this.#cache.set(key, findings, this.#ttlMs);
    return true;
  }

  /** The same ports, noting each review whose facts included a "cannot tell" (or a failure). */
  watch(ports: CheckPorts): CheckPorts {
    const seen = <T>(signal: AbortSignal, p: Promise<T>, uncertain: (v: T) => boolean): Promise<T> =>
      p.then(
        (v) => {
          if (uncertain(v)) this.#uncertain.add(signal);
          return v;
        },
        (err: unknown) => {
          this.#uncertain.add(signal);
          throw err;
        },
      );
    const { images, inspector, nodeArchitectures, objects, pullSecrets, nodeImages } = ports;
    const unknown = (v: { status: string }): boolean => v.status === 'unknown';
    return {
      images: {
        lookup: (ref, signal, opts) => seen(signal, images.lookup(ref, signal, opts), (v: ImageLookup) => v.status === 'unreachable' || v.status === 'rate-limited'),
      },
      ...(inspector
        ? {
            inspector: {
              config: (ref, arch, signal) => seen(signal, inspector.config(ref, arch, signal), unknown),
              files: (ref, arch, signal) => seen(signal, inspector.files(ref, arch, signal), unknown),
            },
          }
        : {}),
      ...(nodeArchitectures ? { nodeArchitectures: (signal: AbortSignal) => seen(signal, nodeArchitectures(signal), () => false) } : {}),
      ...(objects
        ? {
            objects: {
              configMap: (ns, name, signal) => seen(signal, objects.configMap(ns, name, signal), unknown),
              secret: (ns, name, signal) => seen(signal, objects.secret(ns, name, signal), unknown),
            },
          }
        : {}),
      ...(pullSecrets ? { pullSecrets: { forWorkload: (q, signal) => seen(signal, pullSecrets.forWorkload(q, signal), (v: { known: boolean; lasting?: boolean }) => !v.known && !v.lasting) } } : {}),
      ...(nodeImages ? { nodeImages: { presence: (ref, signal) => seen(signal, nodeImages.presence(ref, signal), (v: unknown) => v === undefined) } } : {}),
    };
  }
}
