// Issue 13 (audit in `serve`): the cluster's workloads kept current by one informer per kind
// (@kubernetes/client-node makeInformer: a list, then a watch from its resourceVersion, relisting
// on 410 Gone), so an audit pass reads memory instead of listing the API server every interval.
// The informers keep only what the audit reads: managedFields, annotations and status are dropped
// from each stored object as it arrives. An informer that fails (API server gone, RBAC missing)
// is restarted with backoff; until it has listed once, a pass fails with the reason.
import { KubernetesObjectApi, makeInformer, type Informer, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { AUDIT_KINDS, auditedDirectly, isNotServed, listAllPages, type AuditKind, type ListedWorkload } from './workloads.js';

export interface WorkloadInformersOptions {
  kc: KubeConfig;
  /** One namespace; default: all. */
  namespace?: string;
  /** First retry after a failed list or watch (doubles up to maxBackoffMs). Default 1 s. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** A change seen (add, update, delete) — for tests and a future "audit new images now". */
  onChange?: (kind: AuditKind, verb: 'add' | 'update' | 'delete', o: KubernetesObject) => void;
  onError?: (kind: AuditKind, err: unknown) => void;
}

interface KindState {
  kind: AuditKind;
  apiVersions: readonly string[];
  /** The served one, once known. */
  apiVersion: string;
  informer: (Informer<KubernetesObject> & { list(namespace?: string): ReadonlyArray<KubernetesObject> }) | undefined;
  synced: boolean;
  lastError: string | undefined;
  failures: number;
  retry: NodeJS.Timeout | undefined;
  /** The start (list + watch) in progress, so stop() can wait for it. */
  pending: Promise<void> | undefined;
}

/** The collection path of a kind, for the watch: /apis/apps/v1/deployments, /api/v1/namespaces/x/pods. */
export function collectionPath(apiVersion: string, kind: string, namespace?: string): string {
  const group = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return `${group}${namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''}/${kind.toLowerCase()}s`;
}

/** Drops what an audit never reads, in place (the informer's cache holds this very object). */
export function trimStored(o: KubernetesObject): void {
  const m = o.metadata as Record<string, unknown> | undefined;
  if (m) {
    delete m.managedFields;
    delete m.annotations;
    delete m.labels;
  }
  delete (o as { status?: unknown }).status;
}

function message(err: unknown): string {
  const e = err as { message?: string; code?: number; statusCode?: number; body?: unknown };
  const code = e?.code ?? e?.statusCode;
  return `${e?.message ?? String(err)}${code && !String(e?.message).includes(String(code)) ? ` (HTTP ${code})` : ''}`;
}

export class WorkloadInformers {
  readonly #opts: WorkloadInformersOptions;
  readonly #api: KubernetesObjectApi;
  #kinds: KindState[] = [];
  #starting: Promise<void> | undefined;
  #stopped = false;

  constructor(opts: WorkloadInformersOptions) {
    this.#opts = opts;
    this.#api = KubernetesObjectApi.makeApiClient(opts.kc);
  }

  /** Every page of one kind, trimmed as it arrives. */
  async #listAll(apiVersion: string, kind: AuditKind): Promise<KubernetesListObject<KubernetesObject>> {
    const list = await listAllPages(this.#api, apiVersion, kind, this.#opts.namespace ? { namespace: this.#opts.namespace } : {});
    for (const o of list.items) trimStored(o);
    return list;
  }

  /** Which apiVersion of the kind the server serves (CronJob: batch/v1 from 1.21, batch/v1beta1 before). */
  async #servedVersion(kind: AuditKind, apiVersions: readonly string[]): Promise<string> {
    for (const [i, apiVersion] of apiVersions.entries()) {
      if (i === apiVersions.length - 1) return apiVersion;
      try {
        await this.#api.list(apiVersion, kind, this.#opts.namespace, undefined, undefined, undefined, undefined, undefined, 1);
        return apiVersion;
      } catch (err) {
        if (!isNotServed(err)) throw err;
      }
    }
    return apiVersions[apiVersions.length - 1]!;
  }

  /** The informer of a kind, made once its served apiVersion is known. */
  #makeInformer(s: KindState, apiVersion: string): void {
    const informer = makeInformer<KubernetesObject>(this.#opts.kc, collectionPath(apiVersion, s.kind, this.#opts.namespace), () => this.#listAll(apiVersion, s.kind)) as NonNullable<KindState['informer']>;
    for (const verb of ['add', 'update'] as const) {
      informer.on(verb, (o) => {
        trimStored(o);
        this.#opts.onChange?.(s.kind, verb, o);
      });
    }
    informer.on('delete', (o) => this.#opts.onChange?.(s.kind, 'delete', o));
    // stop() aborts the watch, which the informer reports as an error: not one to retry or tell.
    informer.on('error', (err: unknown) => {
      if (!this.#stopped) this.#failed(s, err);
    });
    s.apiVersion = apiVersion;
    s.informer = informer;
  }

  #failed(s: KindState, err: unknown): void {
    s.lastError = message(err);
    this.#opts.onError?.(s.kind, err);
    this.#scheduleRetry(s);
  }

  #startKind(s: KindState): Promise<void> {
    s.lastError = undefined;
    s.pending = (async () => {
      if (!s.informer) {
        try {
          this.#makeInformer(s, await this.#servedVersion(s.kind, s.apiVersions));
        } catch (err) {
          this.#failed(s, err);
          return;
        }
      }
      // start() resolves once the list is stored and the watch is open, or after an error was reported.
      await s.informer!.start();
      if (s.lastError === undefined) {
        s.synced = true;
        s.failures = 0;
      }
    })();
    return s.pending;
  }

  #scheduleRetry(s: KindState): void {
    if (this.#stopped || s.retry) return;
    const base = this.#opts.backoffMs ?? 1000;
    const delay = Math.min(this.#opts.maxBackoffMs ?? 30_000, base * 2 ** Math.min(s.failures, 10));
    s.failures++;
    s.retry = setTimeout(() => {
      s.retry = undefined;
      if (!this.#stopped) void this.#startKind(s);
    }, delay);
    s.retry.unref?.();
  }

  /** Lists every kind once and keeps watching; resolves when all have listed (or failed once). */
  start(): Promise<void> {
    this.#starting ??= (async () => {
      for (const { kind, apiVersions } of AUDIT_KINDS) {
        this.#kinds.push({ kind, apiVersions, apiVersion: apiVersions[0]!, informer: undefined, synced: false, lastError: undefined, failures: 0, retry: undefined, pending: undefined });
      }
      await Promise.all(this.#kinds.map((s) => this.#startKind(s)));
    })();
    return this.#starting;
  }

  /** Whether every kind has listed at least once. */
  get synced(): boolean {
    return this.#kinds.length > 0 && this.#kinds.every((s) => s.synced);
  }

  /**
   * The audited workloads as the informers hold them now. A kind that has never listed makes
   * this throw with the API server's reason (the pass is reported failed and retried); a kind
   * whose watch broke after a list keeps its last state while it reconnects, as client-go does.
   */
  async snapshot(): Promise<ListedWorkload[]> {
    await this.start();
    const unsynced = this.#kinds.filter((s) => !s.synced);
    if (unsynced.length) throw new Error(`cannot list ${unsynced.map((s) => `${s.kind} (${s.apiVersion}): ${s.lastError ?? 'not listed yet'}`).join('; ')}`);
    const out: ListedWorkload[] = [];
    for (const s of this.#kinds) {
      for (const o of s.informer?.list() ?? []) {
        if (!auditedDirectly(s.kind, o)) continue;
        out.push({ kind: s.kind, apiVersion: s.apiVersion, namespace: o.metadata?.namespace ?? '', name: o.metadata?.name ?? '', uid: o.metadata?.uid ?? '', object: o });
      }
    }
    return out;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#starting?.catch(() => {});
    for (const s of this.#kinds) {
      clearTimeout(s.retry);
      await s.pending?.catch(() => {});
      await s.informer?.stop();
    }
  }
}
