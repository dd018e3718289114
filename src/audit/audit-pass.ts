// Issue 13: one audit pass over the workloads that already run. Each distinct (image, credentials)
// pair is looked up once, however many workloads and containers use it, so the cost of a pass is
// the number of distinct images, not of workloads. Knows nothing of the Kubernetes client: the
// workloads arrive as plain objects (src/kube/workloads.ts lists them).
import { extractWorkload } from '../admission/pod-specs.js';
import type { CredentialCandidate, PullSecrets, PullSecretsView } from '../checks/ports.js';
import { parseReference, type ImageReference } from '../image/reference.js';
import type { RegistryClient } from '../registry/client.js';
import { headsFor, imageStatus, type AuditStatus, type ImageStatus } from './image-status.js';
import type { RequestBudget } from './request-budget.js';

export interface AuditedObject {
  kind: string;
  apiVersion: string;
  namespace: string;
  name: string;
  uid: string;
  object: unknown;
}

export interface AuditRow {
  namespace: string;
  kind: string;
  name: string;
  container: string;
  image: string;
  status: AuditStatus;
  detail: string;
  /** The workload, for an Event on it. */
  workload: Omit<AuditedObject, 'object'>;
}

export interface AuditPassResult {
  rows: AuditRow[];
  workloads: number;
  /** Distinct (image, credentials) pairs: the lookups of this pass. */
  lookups: number;
  /** Registry requests the lookups were allowed (one HEAD per credential tried). */
  requests: number;
}

export interface AuditPassDeps {
  registry: Pick<RegistryClient, 'headManifest'>;
  pullSecrets?: PullSecrets;
  budget?: RequestBudget;
  /** Lookups in flight at once (default 4). */
  concurrency?: number;
  signal?: AbortSignal;
}

interface Group {
  ref: ImageReference;
  candidates: CredentialCandidate[];
  credentialsKnown: boolean;
  rows: AuditRow[];
}

async function viewFor(deps: AuditPassDeps, w: AuditedObject, spec: { imagePullSecrets: string[]; serviceAccountName?: string }, signal: AbortSignal): Promise<PullSecretsView | undefined> {
  if (!deps.pullSecrets) return undefined;
  return deps.pullSecrets.forWorkload(
    { kind: w.kind, namespace: w.namespace, imagePullSecrets: spec.imagePullSecrets, ...(spec.serviceAccountName ? { serviceAccountName: spec.serviceAccountName } : {}) },
    signal,
  );
}

/** Runs one pass: groups the containers by image and credentials, then asks each group's registry once. */
export async function runAuditPass(workloads: readonly AuditedObject[], deps: AuditPassDeps): Promise<AuditPassResult> {
  const signal = deps.signal ?? new AbortController().signal;
  const groups = new Map<string, Group>();
  const rows: AuditRow[] = [];
  for (const w of workloads) {
    const parsed = extractWorkload(w.kind, w.object);
    if (!parsed) continue;
    const view = await viewFor(deps, w, parsed.podSpec, signal);
    const workload = { kind: w.kind, apiVersion: w.apiVersion, namespace: w.namespace, name: w.name, uid: w.uid };
    for (const c of parsed.containers) {
      const image = c.container.image ?? '';
      const row: AuditRow = { namespace: w.namespace, kind: w.kind, name: w.name, container: c.container.name, image, status: 'unverified', detail: '', workload };
      rows.push(row);
      let ref: ImageReference;
      try {
        ref = parseReference(image);
      } catch (err) {
        // Admission would have denied it; a pod from before the webhook can still carry one.
        row.detail = `${JSON.stringify(image)} is not a valid image reference (${(err as Error).message})`;
        continue;
      }
      const candidates = view?.known ? view.credentialsFor(ref) : [];
      const key = `${ref.domain}/${ref.path}:${ref.reference}|${candidates.map((k) => k.id).join(',')}|${view?.known ?? true}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { ref, candidates, credentialsKnown: view ? view.known : true, rows: [] }));
      g.rows.push(row);
    }
  }
  let requests = 0;
  const queue = [...groups.values()];
  const worker = async (): Promise<void> => {
    for (let g = queue.shift(); g; g = queue.shift()) {
      await deps.budget?.take(headsFor(g.candidates), signal);
      const s: ImageStatus = await imageStatus(deps.registry, g.ref, g.candidates, { signal, credentialsKnown: g.credentialsKnown, onRequest: () => void requests++ });
      for (const r of g.rows) Object.assign(r, { status: s.status, detail: s.detail });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, deps.concurrency ?? 4) }, worker));
  return { rows, workloads: workloads.length, lookups: groups.size, requests };
}

/** The pass as JSON fields (CLI -o json and GET /audit): the rows without their workload refs. */
export function auditSummary(result: AuditPassResult): { workloads: number; lookups: number; requests: number; images: Array<Omit<AuditRow, 'workload'>> } {
  const { rows, workloads, lookups, requests } = result;
  return { workloads, lookups, requests, images: rows.map(({ workload: _w, ...r }) => r) };
}
