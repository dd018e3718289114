// Finds the pod spec inside each kind that carries one, and lists its containers.
// Defensive by design: the object comes from the API server (already schema-valid), but the CLI
// reads arbitrary files, so every field is checked before use and nothing here throws.
import type { ContainerSpec, ContainerTarget, ContainerKind, PodSpecLike, WorkloadUnderReview } from '../checks/types.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An argv element as text, whatever was sent: String() throws on objects like {toString: null}. */
function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    return '';
  }
}

/** Where the pod spec lives, per kind (apiVersion group is not needed: these names are unique). */
const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

export const WORKLOAD_KINDS: readonly string[] = Object.keys(POD_SPEC_PATHS);

export function carriesPodSpec(kind: string): boolean {
  return Object.hasOwn(POD_SPEC_PATHS, kind);
}

function dig(obj: unknown, path: readonly string[]): unknown {
  let node = obj;
  for (const key of path) {
    if (!isObj(node)) return undefined;
    node = node[key];
  }
  return node;
}

function stringRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObj(v)) return out;
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

const objects = (v: unknown): Obj[] | undefined => (Array.isArray(v) ? v.filter(isObj) : undefined);

/** The container fields only some checks read, present only when set. */
function optionalParts(raw: Obj): Partial<ContainerSpec> {
  const out: Partial<ContainerSpec> = {};
  if (isObj(raw.resources)) out.resources = raw.resources;
  for (const key of ['ports', 'env', 'envFrom'] as const) {
    const list = objects(raw[key]);
    if (list) out[key] = list;
  }
  for (const key of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
    const probe = raw[key];
    if (isObj(probe)) out[key] = probe;
  }
  if (typeof raw.stdin === 'boolean') out.stdin = raw.stdin;
  if (typeof raw.workingDir === 'string' && raw.workingDir !== '') out.workingDir = raw.workingDir;
  if (typeof raw.tty === 'boolean') out.tty = raw.tty;
  return out;
}

const LISTS: ReadonlyArray<[key: string, kind: ContainerKind]> = [
  ['initContainers', 'initContainer'],
  ['containers', 'container'],
  ['ephemeralContainers', 'ephemeralContainer'],
];

function listContainers(spec: Obj, specPath: string): ContainerTarget[] {
  const out: ContainerTarget[] = [];
  for (const [key, kind] of LISTS) {
    const list = spec[key];
    if (!Array.isArray(list)) continue;
    list.forEach((raw, index) => {
      if (!isObj(raw)) return;
      const container: ContainerSpec = {
        name: typeof raw.name === 'string' ? raw.name : `${key}[${index}]`,
        image: typeof raw.image === 'string' ? raw.image : undefined,
        command: Array.isArray(raw.command) ? raw.command.map(text) : undefined,
        args: Array.isArray(raw.args) ? raw.args.map(text) : undefined,
        imagePullPolicy: typeof raw.imagePullPolicy === 'string' ? raw.imagePullPolicy : undefined,
        restartPolicy: typeof raw.restartPolicy === 'string' ? raw.restartPolicy : undefined,
        securityContext: isObj(raw.securityContext) ? raw.securityContext : undefined,
        ...optionalParts(raw),
      };
      out.push({
        kind,
        index,
        path: `${specPath}.${key}[${index}]`,
        // A restartable init container (restartPolicy: Always, Kubernetes 1.28+) is a sidecar.
        sidecar: kind === 'initContainer' && container.restartPolicy === 'Always',
        container,
      });
    });
  }
  return out;
}

/** A Job's spec.backoffLimit, or a CronJob's spec.jobTemplate.spec.backoffLimit. */
function backoffLimitOf(kind: string, object: Record<string, unknown>): { backoffLimit?: number } {
  const spec = kind === 'Job' ? dig(object, ['spec']) : kind === 'CronJob' ? dig(object, ['spec', 'jobTemplate', 'spec']) : undefined;
  const v = isObj(spec) ? spec.backoffLimit : undefined;
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? { backoffLimit: v } : {};
}

/** The controlling owner's kind (a Pod made by a Job says "Job"). */
function controllerOf(metadata: Record<string, unknown>): { controllerKind?: string } {
  if (!Array.isArray(metadata.ownerReferences)) return {};
  for (const o of metadata.ownerReferences) if (isObj(o) && o.controller === true && typeof o.kind === 'string') return { controllerKind: o.kind };
  return {};
}

/**
 * What a review reads before it needs the containers: the object's scalars (kind, namespace,
 * replicas, backoff limit, controller), its annotations and its pod spec as sent. Enough to key
 * the findings memo, so a review answered from the memo never builds the container model.
 */
export type WorkloadHead = Omit<WorkloadUnderReview, 'podSpec' | 'containers' | 'rawPodSpec'> & {
  rawPodSpec: Record<string, unknown>;
  /** Where the pod spec lives ("spec.template.spec"). */
  specPath: string;
};

/**
 * The head of `object` if its kind carries a pod spec, else undefined.
 * `kind` is the request's kind (request.kind.kind), which is authoritative over object.kind.
 */
export function workloadHead(kind: string, object: unknown): WorkloadHead | undefined {
  // hasOwn: a kind named "constructor" or "__proto__" must not reach Object.prototype.
  const path = Object.hasOwn(POD_SPEC_PATHS, kind) ? POD_SPEC_PATHS[kind] : undefined;
  if (!path || !isObj(object)) return undefined;
  const spec = dig(object, path);
  if (!isObj(spec)) return undefined;
  const metadata = isObj(object.metadata) ? object.metadata : {};
  const templateMeta = kind === 'Pod' ? metadata : dig(object, [...path.slice(0, -1), 'metadata']);
  return {
    kind,
    name: typeof metadata.name === 'string' ? metadata.name : typeof metadata.generateName === 'string' ? `${metadata.generateName}*` : '',
    namespace: typeof metadata.namespace === 'string' ? metadata.namespace : undefined,
    ...(isObj(object.spec) && typeof object.spec.replicas === 'number' && Number.isInteger(object.spec.replicas) ? { replicas: object.spec.replicas } : {}),
    ...backoffLimitOf(kind, object),
    ...controllerOf(metadata),
    annotations: { ...stringRecord(metadata.annotations), ...stringRecord(isObj(templateMeta) ? templateMeta.annotations : undefined) },
    rawPodSpec: spec,
    specPath: path.join('.'),
  };
}

/** The whole model of a workload from its head: the pod spec's fields and every container. */
export function workloadOf(head: WorkloadHead): WorkloadUnderReview {
  const spec = head.rawPodSpec;
  const podSpec: PodSpecLike = {
    restartPolicy: typeof spec.restartPolicy === 'string' ? spec.restartPolicy : undefined,
    securityContext: isObj(spec.securityContext) ? spec.securityContext : undefined,
    nodeSelector: stringRecord(spec.nodeSelector),
    imagePullSecrets: Array.isArray(spec.imagePullSecrets)
      ? spec.imagePullSecrets.flatMap((s) => (isObj(s) && typeof s.name === 'string' ? [s.name] : []))
      : [],
    serviceAccountName: typeof spec.serviceAccountName === 'string' ? spec.serviceAccountName : undefined,
    ...(isObj(spec.affinity) ? { affinity: spec.affinity } : {}),
    ...(Array.isArray(spec.volumes) ? { volumes: spec.volumes.filter(isObj) } : {}),
  };
  const { specPath, ...rest } = head;
  return { ...rest, podSpec, containers: listContainers(spec, specPath) };
}

/**
 * The pod spec and containers of `object` if its kind carries one, else undefined.
 * `kind` is the request's kind (request.kind.kind), which is authoritative over object.kind.
 */
export function extractWorkload(kind: string, object: unknown): WorkloadUnderReview | undefined {
  const head = workloadHead(kind, object);
  return head ? workloadOf(head) : undefined;
}

const sameArgv = (a?: string[], b?: string[]) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * On UPDATE only containers that are new or whose image, command or args changed are checked:
 * scaling or restarting a workload whose image has since vanished must never be blocked.
 */
export function changedContainers(current: WorkloadUnderReview, previous: WorkloadUnderReview | undefined): ContainerTarget[] {
  if (!previous) return current.containers;
  const before = new Map(previous.containers.map((c) => [`${c.kind}/${c.container.name}`, c.container]));
  return current.containers.filter((c) => {
    const old = before.get(`${c.kind}/${c.container.name}`);
    return (
      !old ||
      old.image !== c.container.image ||
      !sameArgv(old.command, c.container.command) ||
      !sameArgv(old.args, c.container.args)
    );
  });
}
