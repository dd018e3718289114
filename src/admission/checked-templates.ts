// Issue 12, optional (admission.skipCheckedTemplates, off by default): one rollout sends the same
// pod template three times (Deployment, ReplicaSet, then each Pod). When a ReplicaSet or a Job
// was reviewed clean (allowed, no finding at all, every fact definite), the Pods its controller
// creates from that template within cache.reviewTtlMs are allowed without running the checks:
// the Pod names its controller by uid (ownerReferences) and, for a ReplicaSet, the template by
// its pod-template-hash label. With a shared cache the replicas share what was checked, so the
// Pod review costs nothing whichever replica gets it.
//
// The trade-off (why it is off by default): what a mutating webhook adds to the Pod and not to
// the template (an injected sidecar) is not checked, and an ownerReference is what the Pod
// claims. A shared-cache fault reads as "not checked": the Pod is checked as usual.
import type { SharedCache } from '../cache/shared-cache.js';
import { TtlCache } from '../util/ttl-cache.js';

/** A controller's pod template: the controller's uid and, for a ReplicaSet, its pod-template-hash. */
export interface TemplateKey {
  uid: string;
  hash: string;
}

const CONTROLLERS = new Set(['ReplicaSet', 'Job']);
const HASH_LABEL = 'pod-template-hash';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const labelsOf = (meta: Obj): Obj => (isObj(meta.labels) ? meta.labels : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : undefined);

/** The template a ReplicaSet or Job under review stands for (its own uid), else undefined. */
export function templateOf(kind: string, object: unknown): TemplateKey | undefined {
  if (!CONTROLLERS.has(kind) || !isObj(object) || !isObj(object.metadata)) return undefined;
  const uid = str(object.metadata.uid);
  if (!uid) return undefined;
  const hash = kind === 'ReplicaSet' ? str(labelsOf(object.metadata)[HASH_LABEL]) : '';
  return hash === undefined ? undefined : { uid, hash };
}

/** The template a Pod was made from, by its controller (a ReplicaSet or a Job), else undefined. */
export function ownerTemplateOf(object: unknown): TemplateKey | undefined {
  if (!isObj(object) || !isObj(object.metadata) || !Array.isArray(object.metadata.ownerReferences)) return undefined;
  const owner = object.metadata.ownerReferences.find((o): o is Obj => isObj(o) && o.controller === true);
  if (!owner || typeof owner.kind !== 'string' || !CONTROLLERS.has(owner.kind)) return undefined;
  const uid = str(owner.uid);
  if (!uid) return undefined;
  const hash = owner.kind === 'ReplicaSet' ? str(labelsOf(object.metadata)[HASH_LABEL]) : '';
  return hash === undefined ? undefined : { uid, hash };
}

export interface CheckedTemplatesOptions {
  ttlMs: number;
  maxEntries: number;
  shared?: SharedCache;
  now?: () => number;
}

const decodeChecked = (raw: unknown): true | undefined => (raw === 1 ? true : undefined);

export class CheckedTemplates {
  readonly #local: TtlCache<string, true>;
  readonly #opts: CheckedTemplatesOptions;

  constructor(opts: CheckedTemplatesOptions) {
    this.#opts = opts;
    this.#local = new TtlCache(opts.maxEntries, opts.now);
  }

  get enabled(): boolean {
    return this.#opts.ttlMs > 0;
  }

  /** Whether this template was reviewed clean within the TTL (here, or by another replica). */
  async checked(k: TemplateKey): Promise<boolean> {
    const id = `${k.uid}/${k.hash}`;
    if (this.#local.get(id)) return true;
    // Not copied here: the entry carries the TTL its writer gave it.
    return (await this.#opts.shared?.get('checked-template', [k.uid, k.hash], decodeChecked)) === true;
  }

  /** Notes a clean review of the template, for the TTL. */
  remember(k: TemplateKey): void {
    this.#local.set(`${k.uid}/${k.hash}`, true, this.#opts.ttlMs);
    void this.#opts.shared?.set('checked-template', [k.uid, k.hash], 1, this.#opts.ttlMs);
  }
}
