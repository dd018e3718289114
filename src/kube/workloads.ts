// Issue 13 (audit): the workloads whose pods will pull images, read from the API server.
// `backoff-guard audit` lists them once (here); `serve` keeps them current with informers
// (workload-informers.ts), which share the kinds and the ownership rule below. One list per kind and namespace (KubernetesObjectApi, so CronJob can fall back from batch/v1 to
// batch/v1beta1 on clusters older than 1.21). Objects a controller recreates are left out: a Pod
// owned by a controller (ReplicaSet, StatefulSet, DaemonSet, Job) is audited through its owner,
// and a Job a CronJob created through the CronJob, so one image is reported once per workload.
import { KubernetesObjectApi, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';

export type AuditKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'CronJob' | 'Job' | 'Pod';

export interface ListedWorkload {
  kind: AuditKind;
  apiVersion: string;
  namespace: string;
  name: string;
  uid: string;
  /** The object as the API server returned it (pod specs are read from it by admission/pod-specs). */
  object: KubernetesObject;
}

/** apiVersions tried in order: the first the server serves is used. */
export const AUDIT_KINDS: ReadonlyArray<{ kind: AuditKind; apiVersions: string[] }> = [
  { kind: 'Deployment', apiVersions: ['apps/v1'] },
  { kind: 'StatefulSet', apiVersions: ['apps/v1'] },
  { kind: 'DaemonSet', apiVersions: ['apps/v1'] },
  { kind: 'CronJob', apiVersions: ['batch/v1', 'batch/v1beta1'] },
  { kind: 'Job', apiVersions: ['batch/v1'] },
  { kind: 'Pod', apiVersions: ['v1'] },
];

function controllerKind(o: KubernetesObject): string | undefined {
  return o.metadata?.ownerReferences?.find((r) => r.controller)?.kind;
}

/** Whether the audit reports this object itself (false: its controller stands for it). */
export function auditedDirectly(kind: AuditKind, o: KubernetesObject): boolean {
  const owner = controllerKind(o);
  if (kind === 'Pod') return owner === undefined;
  if (kind === 'Job') return owner !== 'CronJob';
  return true;
}

export function isNotServed(err: unknown): boolean {
  const e = err as { code?: number; statusCode?: number; message?: string };
  // KubernetesObjectApi resolves the resource through discovery; an unknown group/version is a 404
  // or a "no resource found" error.
  return e?.code === 404 || e?.statusCode === 404 || /unrecognized api version|not found|no resource/i.test(e?.message ?? '');
}

export interface ListOptions {
  /** One namespace; default: all. */
  namespace?: string;
  /** Items per page (default 500). */
  pageSize?: number;
}

/** Every page of one kind, as one list (the first page's resourceVersion is the snapshot's). */
export async function listAllPages(api: KubernetesObjectApi, apiVersion: string, kind: AuditKind, opts: ListOptions = {}): Promise<KubernetesListObject<KubernetesObject>> {
  const items: KubernetesObject[] = [];
  let first: KubernetesListObject<KubernetesObject> | undefined;
  let token: string | undefined;
  do {
    const page = await api.list(apiVersion, kind, opts.namespace, undefined, undefined, undefined, undefined, undefined, opts.pageSize ?? 500, token);
    first ??= page;
    items.push(...page.items);
    token = page.metadata?._continue || undefined;
  } while (token);
  return { ...first, items, metadata: { resourceVersion: first.metadata?.resourceVersion ?? '' } } as KubernetesListObject<KubernetesObject>;
}

/** Every audited workload, kind by kind; an error other than "kind not served" is thrown. */
export async function listWorkloads(kc: KubeConfig, opts: ListOptions = {}): Promise<ListedWorkload[]> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const out: ListedWorkload[] = [];
  for (const { kind, apiVersions } of AUDIT_KINDS) {
    for (const [i, apiVersion] of apiVersions.entries()) {
      try {
        for (const o of (await listAllPages(api, apiVersion, kind, opts)).items) {
          if (auditedDirectly(kind, o)) out.push({ kind, apiVersion, namespace: o.metadata?.namespace ?? '', name: o.metadata?.name ?? '', uid: o.metadata?.uid ?? '', object: o });
        }
        break;
      } catch (err) {
        if (i < apiVersions.length - 1 && isNotServed(err)) continue;
        throw err;
      }
    }
  }
  return out;
}
