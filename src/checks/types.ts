// The model the checks work on: a pod spec reduced to what the checks read, and findings.
// Nothing here knows about HTTP, Fastify or the Kubernetes client.
import type { ImageReference, InvalidReferenceError } from '../image/reference.js';

export type ContainerKind = 'initContainer' | 'container' | 'ephemeralContainer';

export interface ContainerSpec {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  imagePullPolicy?: string;
  restartPolicy?: string;
  securityContext?: Record<string, unknown>;
  /** Read by the issue-5 checks (memory limit, probes, ports, config references, stdin). */
  resources?: Record<string, unknown>;
  ports?: Record<string, unknown>[];
  env?: Record<string, unknown>[];
  envFrom?: Record<string, unknown>[];
  livenessProbe?: Record<string, unknown>;
  readinessProbe?: Record<string, unknown>;
  startupProbe?: Record<string, unknown>;
  stdin?: boolean;
  /** The container's workingDir: relative commands resolve against it, else the image's WORKDIR. */
  workingDir?: string;
  tty?: boolean;
}

export interface ContainerTarget {
  kind: ContainerKind;
  index: number;
  /** JSON path in the object under review, e.g. spec.template.spec.containers[0] */
  path: string;
  sidecar: boolean;
  container: ContainerSpec;
}

export interface PodSpecLike {
  restartPolicy?: string;
  securityContext?: Record<string, unknown>;
  nodeSelector: Record<string, string>;
  imagePullSecrets: string[];
  serviceAccountName?: string;
  /** Node affinity (platform check: required terms on kubernetes.io/arch). */
  affinity?: Record<string, unknown>;
  /** Volumes (config-refs check: configMap / secret / projected sources). */
  volumes?: Record<string, unknown>[];
}

export interface WorkloadUnderReview {
  kind: string;
  name: string;
  namespace?: string;
  /** spec.replicas of a Deployment, ReplicaSet, StatefulSet or ReplicationController (undefined: 1 or per node). */
  replicas?: number;
  /** A Job's spec.backoffLimit (a CronJob's jobTemplate), when set. */
  backoffLimit?: number;
  /** The kind of the controller owning the object (ownerReferences controller: true), e.g. a Pod's Job. */
  controllerKind?: string;
  /** Workload annotations merged with its pod template's (template wins). */
  annotations: Record<string, string>;
  podSpec: PodSpecLike;
  containers: ContainerTarget[];
  /**
   * The pod spec as sent, which `podSpec` and `containers` are read from (the findings memo keys
   * on it: hashing the parsed JSON is cheaper than hashing the model built from it).
   */
  rawPodSpec?: unknown;
}

/**
 * How sure a finding is that the pod will fail:
 * - certain: the node will fail this way (deny in enforce mode);
 * - likely: it will probably fail, or fail on some nodes (warning);
 * - unverified: the check could not tell (registry down, deadline): a warning, never a deny.
 */
export type Certainty = 'certain' | 'likely' | 'unverified';

export interface Finding {
  checkId: string;
  /** Container name, as the user wrote it. */
  container: string;
  certainty: Certainty;
  /**
   * One line for the person running kubectl: what will happen and why (the runtime's words), short
   * enough that the fix still fits a 256-character warning. Older findings carry "; fix: ..." here.
   */
  message: string;
  /** The fix, one imperative phrase. */
  fix?: string;
  /** Long facts that explain it (full image reference, PATH searched): printed last, cut first. */
  detail?: string;
}

/** What a check gets for one container. `image` is undefined when the reference does not parse. */
export interface CheckInput {
  workload: WorkloadUnderReview;
  target: ContainerTarget;
  image?: ImageReference;
  /** Set when the image string does not parse (then `image` is undefined). */
  imageError?: InvalidReferenceError;
  signal: AbortSignal;
}

export interface Check<P = unknown> {
  readonly id: string;
  /** One line for the README's checks table and `--help`. */
  readonly description: string;
  run(input: CheckInput, ports: P): Promise<Finding[]> | Finding[];
}
