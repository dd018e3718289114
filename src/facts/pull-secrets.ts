// PullSecrets over the cluster: which secrets a workload's pods will pull with, read through
// narrow reader functions (src/kube/ implements them with the Kubernetes client; this file never
// sees it), turned into the kubelet's keyring by the pure src/credentials/ code.
//
// Which secrets (kubelet getPullSecretsForPod, ServiceAccount admission plugin):
//   - a Pod: spec.imagePullSecrets as given. The ServiceAccount admission plugin has already
//     copied its account's secrets in when the pod listed none, before any validating webhook;
//   - a workload template: its own imagePullSecrets if any, else those of its service account
//     (`default` when unset), which the plugin will copy into each pod it creates.
// Each secret: missing -> the kubelet goes on without it; of another type -> skipped;
// unparsable -> the kubelet fails the pull with the parse error. The nodes' own credentials
// (a mounted docker config standing for them) come after the pod's, as the union keyring does.
import type { CredentialCandidate, PullSecrets, PullSecretsQuery, PullSecretsView } from '../checks/ports.js';
import { parsePullSecret } from '../credentials/docker-config.js';
import { Keyring, describeSource, unionLookup, type MatchedCredential } from '../credentials/keyring.js';
import type { ImageReference } from '../image/reference.js';

export type SecretReadResult =
  | { status: 'found'; type?: string; data: Record<string, Buffer> }
  | { status: 'missing' }
  | { status: 'unknown'; reason: string };
export type ServiceAccountReadResult = { status: 'found'; imagePullSecrets: string[] } | { status: 'missing' } | { status: 'unknown'; reason: string };

export interface PullSecretSources {
  readSecret: (namespace: string, name: string, signal: AbortSignal) => Promise<SecretReadResult>;
  readServiceAccount: (namespace: string, name: string, signal: AbortSignal) => Promise<ServiceAccountReadResult>;
}

export function toCandidate(m: MatchedCredential): CredentialCandidate {
  return { source: describeSource(m.source), key: m.key, credential: m.credential, id: m.id };
}

function view(partial: Omit<PullSecretsView, 'credentialsFor'>, keyrings: Array<Keyring | undefined>): PullSecretsView {
  return { ...partial, credentialsFor: (ref: ImageReference) => unionLookup(keyrings, ref.name).map(toCandidate) };
}

const unique = (names: readonly string[]): string[] => [...new Set(names.filter((n) => n !== ''))];

/** Pull secrets read from the cluster. `sources` undefined: no cluster access (`reason` says why). */
export class ClusterPullSecrets implements PullSecrets {
  constructor(
    private readonly sources: PullSecretSources | undefined,
    private readonly opts: { nodeKeyring?: Keyring; unavailableReason?: string } = {},
  ) {}

  async forWorkload(q: PullSecretsQuery, signal: AbortSignal): Promise<PullSecretsView> {
    const node = this.opts.nodeKeyring;
    const empty = { names: [] as string[], missing: [] as string[], ignored: [], invalid: [] };
    const unknown = (reason: string, from: PullSecretsView['from'] = q.kind === 'Pod' ? 'pod' : 'template'): PullSecretsView =>
      view({ known: false, reason, from, ...empty, names: unique(q.imagePullSecrets) }, [node]);
    if (!this.sources) return { ...unknown(this.opts.unavailableReason ?? 'no Kubernetes API access'), lasting: true };
    const namespace = q.namespace;
    if (!namespace) return unknown('the namespace is not known');

    let from: PullSecretsView['from'];
    let names: string[];
    let serviceAccount: string | undefined;
    if (q.kind === 'Pod') {
      from = 'pod';
      names = unique(q.imagePullSecrets);
    } else if (q.imagePullSecrets.length > 0) {
      from = 'template';
      names = unique(q.imagePullSecrets);
    } else {
      from = 'service-account';
      serviceAccount = q.serviceAccountName || 'default';
      const sa = await this.sources.readServiceAccount(namespace, serviceAccount, signal);
      if (sa.status === 'unknown') return { ...unknown(`service account ${namespace}/${serviceAccount}: ${sa.reason}`, from), serviceAccount };
      // A missing account: the plugin refuses the pods until it exists; nothing to pull with.
      names = sa.status === 'found' ? unique(sa.imagePullSecrets) : [];
    }
    if (names.length === 0) return view({ known: true, from, ...empty, ...(serviceAccount ? { serviceAccount } : {}) }, [node]);

    const reads = await Promise.all(names.map(async (name) => ({ name, read: await this.sources!.readSecret(namespace, name, signal) })));
    const keyring = new Keyring();
    const missing: string[] = [];
    const ignored: PullSecretsView['ignored'] = [];
    const invalid: PullSecretsView['invalid'] = [];
    for (const { name, read } of reads) {
      if (read.status === 'unknown') return { ...unknown(`secret ${namespace}/${name}: ${read.reason}`, from), ...(serviceAccount ? { serviceAccount } : {}) };
      if (read.status === 'missing') {
        missing.push(name);
        continue;
      }
      const parsed = parsePullSecret(read.type !== undefined ? { type: read.type, data: read.data } : { data: read.data });
      if (parsed.status === 'ok') keyring.add({ kind: 'secret', namespace, name }, parsed.entries);
      else if (parsed.status === 'ignored') ignored.push({ name, reason: parsed.reason });
      else invalid.push({ name, reason: parsed.reason });
    }
    return view({ known: true, from, names, missing, ignored, invalid, ...(serviceAccount ? { serviceAccount } : {}) }, [keyring, node]);
  }
}

/** `backoff-guard check --docker-config FILE`: one docker config stands for every pod's credentials. */
export class DockerConfigPullSecrets implements PullSecrets {
  constructor(
    private readonly path: string,
    private readonly keyring: Keyring,
    private readonly nodeKeyring?: Keyring,
  ) {}

  async forWorkload(): Promise<PullSecretsView> {
    return view({ known: true, from: 'docker-config', names: [this.path], missing: [], ignored: [], invalid: [] }, [this.keyring, this.nodeKeyring]);
  }
}
