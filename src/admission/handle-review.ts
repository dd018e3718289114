// One AdmissionReview in, one AdmissionReview out: decode the pod spec, apply the policy, run the
// checks under the deadline, build the verdict. No HTTP here (the route calls this), no Kubernetes
// client (namespace labels come through a port).
import type { Config, Mode } from '../config/schema.js';
import type { CheckPorts } from '../checks/ports.js';
import { runChecks } from '../checks/run-checks.js';
import type { Check, ContainerTarget, Finding, WorkloadUnderReview } from '../checks/types.js';
import { ownerTemplateOf, templateOf, type CheckedTemplates } from './checked-templates.js';
import type { FindingsMemo } from './findings-memo.js';
import { changedContainers, carriesPodSpec, extractWorkload, workloadHead, workloadOf } from './pod-specs.js';
import { modeFor, skippedChecks, isExempt } from './policy.js';
import { allowResponse, denyResponse, type AdmissionReviewRequest, type AdmissionReviewResponse } from './review.js';
import { signalOf, type SignalSource } from './deadline.js';
import { decide } from './verdict.js';

/** Reads a namespace's labels; undefined when unknown (no cluster access): the default mode applies. */
export type NamespaceLabels = (namespace: string, signal: AbortSignal) => Promise<Record<string, string> | undefined>;

export interface ReviewDeps {
  policy: Config['admission'];
  checks: readonly Check<CheckPorts>[];
  ports: CheckPorts;
  namespaceLabels?: NamespaceLabels;
  onCheckError?: (checkId: string, container: string, err: unknown) => void;
  /** Definite findings of identical pod templates, reused (ports must be `memo.watch(...)`ed). */
  memo?: FindingsMemo;
  /** admission.skipCheckedTemplates: Pods of a ReplicaSet/Job template reviewed clean are not checked again. */
  checkedTemplates?: CheckedTemplates;
}

export interface ReviewOutcome {
  response: AdmissionReviewResponse;
  mode: Mode;
  /** Why nothing was checked, when nothing was: for the log. */
  skipped?: string;
  findings: Finding[];
  timedOut: number;
  /** The findings came from the memo of an identical pod template. */
  memoized?: boolean;
}

export async function handleReview(review: AdmissionReviewRequest, source: SignalSource, deps: ReviewDeps): Promise<ReviewOutcome> {
  const req = review.request;
  const uid = req.uid;
  const allow = (skipped: string, mode: Mode = deps.policy.defaultMode): ReviewOutcome => ({
    response: allowResponse(uid),
    mode,
    skipped,
    findings: [],
    timedOut: 0,
  });
  const kind = req.kind.kind;
  if (!carriesPodSpec(kind)) return allow(`kind ${kind} carries no pod spec`);
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allow(`operation ${req.operation}`);
  // status, scale, binding... never change containers; pods/ephemeralcontainers does.
  if (req.subResource && req.subResource !== 'ephemeralcontainers') return allow(`subresource ${req.subResource}`);

  // The head only (scalars, annotations, the pod spec as sent): the container model is built
  // when the checks run, never for a review answered from the memo.
  const head = workloadHead(kind, req.object);
  if (!head) return allow('object has no pod spec');
  const namespace = req.namespace || head.namespace;
  if (isExempt(namespace, deps.policy)) return allow(`namespace ${namespace} is exempt`, 'off');

  let labels: Record<string, string> | undefined;
  if (namespace && deps.namespaceLabels) {
    try {
      labels = await deps.namespaceLabels(namespace, signalOf(source));
    } catch {
      labels = undefined; // unknown labels: the default mode applies
    }
  }
  const { mode } = modeFor(namespace, labels, deps.policy);
  if (mode === 'off') return allow(`mode off in namespace ${namespace}`, 'off');

  const templates = deps.checkedTemplates?.enabled && deps.memo?.enabled ? deps.checkedTemplates : undefined;
  if (templates && kind === 'Pod' && req.operation === 'CREATE') {
    const owner = ownerTemplateOf(req.object);
    if (owner && (await templates.checked(owner))) return allow(`its controller's pod template was reviewed clean within cache.reviewTtlMs (admission.skipCheckedTemplates)`, mode);
  }

  let workload: WorkloadUnderReview | undefined;
  let targets: ContainerTarget[] | undefined;
  if (req.operation === 'UPDATE') {
    workload = workloadOf(head);
    targets = changedContainers(workload, extractWorkload(kind, req.oldObject));
    if (targets.length === 0) return allow('no container changed', mode);
  }
  // Every container is under review (CREATE, or an UPDATE that changed them all).
  const all = !targets || targets.length === workload!.containers.length;

  const skip = skippedChecks(head.annotations, deps.policy, deps.checks.map((c) => c.id));
  const memo = deps.memo?.enabled ? deps.memo : undefined;
  const key = memo?.key(head, all ? 'all' : targets!, skip);
  // Only a spec with containers is ever remembered (one without is allowed below, unchecked).
  const remembered = key !== undefined ? memo!.get(key) : undefined;
  let findings: Finding[];
  let timedOut = 0;
  // The findings are definite (from the memo, or remembered by it now).
  let definite = remembered !== undefined;
  if (remembered) {
    findings = [...remembered];
  } else {
    workload ??= workloadOf(head);
    targets ??= workload.containers;
    if (targets.length === 0) return allow('no container changed', mode);
    const signal = signalOf(source);
    ({ findings, timedOut } = await runChecks(workload, {
      checks: deps.checks,
      ports: deps.ports,
      signal,
      skip,
      targets,
      ...(deps.onCheckError ? { onCheckError: deps.onCheckError } : {}),
    }));
    definite = key !== undefined && memo!.remember(key, findings, timedOut, signal);
  }
  const verdict = decide(findings, mode);
  // A clean and definite review of a ReplicaSet's or Job's whole template: its Pods may skip theirs.
  if (templates && definite && findings.length === 0 && skip.size === 0 && all) {
    const t = templateOf(kind, req.object);
    if (t) templates.remember(t);
  }
  const response = verdict.allowed ? allowResponse(uid, verdict.warnings) : denyResponse(uid, verdict.message!, verdict.warnings);
  return { response, mode, findings, timedOut, ...(remembered ? { memoized: true } : {}) };
}
