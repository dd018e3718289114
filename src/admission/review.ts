// The admission.k8s.io/v1 AdmissionReview envelope: types and the JSON schema of the envelope.
// Only the envelope is validated: the object under review is passed through untouched (no
// coercion, no stripping), since the API server already validated it against its own schema.
// Contract: k8s.io/api/admission/v1/types.go; apiserver pkg/admission/plugin/webhook/request.

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource?: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: Operation;
  userInfo?: { username?: string };
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
}

export interface AdmissionReviewRequest {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  request: AdmissionRequest;
}

export interface AdmissionStatus {
  code: number;
  reason: string;
  message: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: AdmissionStatus;
  warnings?: string[];
}

export interface AdmissionReviewResponse {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

const gvk = {
  type: 'object',
  required: ['group', 'version', 'kind'],
  properties: {
    group: { type: 'string' },
    version: { type: 'string' },
    kind: { type: 'string', minLength: 1 },
  },
} as const;

/** JSON schema of the envelope (apiVersion, kind, request.uid/kind/operation). */
export const admissionReviewSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'request'],
  properties: {
    apiVersion: { const: 'admission.k8s.io/v1' },
    kind: { const: 'AdmissionReview' },
    request: {
      type: 'object',
      required: ['uid', 'kind', 'operation'],
      properties: {
        uid: { type: 'string', minLength: 1, maxLength: 128 },
        kind: gvk,
        name: { type: 'string' },
        namespace: { type: 'string' },
        subResource: { type: 'string' },
        operation: { enum: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] },
        dryRun: { type: 'boolean' },
        object: { type: ['object', 'null'] },
        oldObject: { type: ['object', 'null'] },
      },
    },
  },
} as const;

export function allowResponse(uid: string, warnings?: string[]): AdmissionReviewResponse {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: warnings && warnings.length ? { uid, allowed: true, warnings } : { uid, allowed: true },
  };
}

/** A deny is a value: HTTP 200 with allowed=false and a 403 status (kubectl prints "Error from server (Forbidden)"). */
export function denyResponse(uid: string, message: string, warnings?: string[]): AdmissionReviewResponse {
  const response: AdmissionResponse = { uid, allowed: false, status: { code: 403, reason: 'Forbidden', message } };
  if (warnings && warnings.length) response.warnings = warnings;
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

const PLURALS: Record<string, [group: string, version: string, resource: string]> = {
  Pod: ['', 'v1', 'pods'],
  ReplicationController: ['', 'v1', 'replicationcontrollers'],
  Deployment: ['apps', 'v1', 'deployments'],
  ReplicaSet: ['apps', 'v1', 'replicasets'],
  StatefulSet: ['apps', 'v1', 'statefulsets'],
  DaemonSet: ['apps', 'v1', 'daemonsets'],
  Job: ['batch', 'v1', 'jobs'],
  CronJob: ['batch', 'v1', 'cronjobs'],
};

/**
 * Wraps a manifest in the AdmissionReview the API server would send for it (CREATE by default):
 * what `backoff-guard review` prints, for trying the webhook with curl.
 */
export function reviewFor(object: Record<string, unknown>, opts: { uid?: string; operation?: Operation; oldObject?: unknown; namespace?: string } = {}): AdmissionReviewRequest {
  const kind = typeof object.kind === 'string' ? object.kind : 'Unknown';
  const [apiGroup, apiVersion] = typeof object.apiVersion === 'string' && object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', String(object.apiVersion ?? 'v1')];
  const [group, version, resource] = (Object.hasOwn(PLURALS, kind) ? PLURALS[kind] : undefined) ?? [apiGroup ?? '', apiVersion ?? 'v1', `${kind.toLowerCase()}s`];
  const meta = (object.metadata ?? {}) as { name?: string; namespace?: string };
  const request: AdmissionRequest = {
    uid: opts.uid ?? globalThis.crypto.randomUUID(),
    kind: { group, version, kind },
    resource: { group, version, resource },
    namespace: opts.namespace ?? meta.namespace ?? 'default',
    operation: opts.operation ?? 'CREATE',
    userInfo: { username: 'backoff-guard-cli' },
    object,
    dryRun: false,
  };
  if (meta.name) request.name = meta.name;
  if (opts.oldObject !== undefined) request.oldObject = opts.oldObject;
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request };
}
