// image-exists: the registry the node pulls from must have the image, and let the pod pull it
// with the credentials the kubelet will use (issue 4).
// The messages quote the runtime's own words (containerd remotes/docker/resolver.go, kubelet
// images/image_manager.go, kubelet_pods.go) so users recognise what `kubectl describe pod`
// would show later.
//
// Credentials come through the PullSecrets port: the pod's imagePullSecrets (or, for a
// template, its own or its service account's), matched to the image by the kubelet's keyring
// rules, then the nodes' own. ImageFacts tries them in that order. Outcomes:
//   - a referenced secret that does not exist: warning (the kubelet goes on without it);
//   - a secret of another type / unparsable: warning naming it;
//   - no credential matches and the registry demands auth: deny, naming the registry and the
//     pod's secrets;
//   - every matching credential refused: deny "credentials in secret ns/name were rejected by R";
//   - registries whose credentials live on the nodes: warnings only.
import { perWindow } from '../util/quota-window.js';
import { outcome } from './consequence.js';
import type { ImageReference } from '../image/reference.js';
import type { CheckPorts, CredentialRef, ImageLookup, NodeImagePresence, PullSecretsView } from './ports.js';
import type { Check, CheckInput, Finding } from './types.js';

export const ID = 'image-exists';

const q = (s: string) => JSON.stringify(s);

// containerd's words for a refused pull (remotes/docker/resolver.go, ErrInvalidAuthorization).
const PULL_ACCESS_DENIED = 'pull access denied, repository does not exist or may require authorization';

/** Suggestion as the user would write it: same form, other name or tag. */
function rewrite(ref: ImageReference, lookup: ImageLookup & { suggestions: string[] }, what: 'tag' | 'repository' | 'manifest'): string[] {
  return lookup.suggestions.slice(0, 2).map((s) => {
    if (what === 'tag') {
      const at = ref.original.indexOf('@');
      const base = at >= 0 ? ref.original.slice(0, at) : ref.original;
      const colon = base.lastIndexOf(':');
      const slash = base.lastIndexOf('/');
      return `${colon > slash ? base.slice(0, colon) : base}:${s}`;
    }
    // repository suggestions are full paths in the same registry ('library/nginx' or 'nginx')
    const short = ref.domain === 'docker.io' ? s.replace(/^library\//, '') : `${ref.domain}/${s}`;
    const suffix = ref.digest ? `@${ref.digest}` : ref.tagDefaulted ? '' : `:${ref.tag}`;
    return `${short}${suffix}`;
  });
}

/** "did you mean "a" or "b"?", or '' when there is nothing close. */
function didYouMean(list: string[]): string {
  if (list.length === 0) return '';
  return `did you mean ${list.map(q).join(' or ')}?`;
}

/** The fix for a wrong name: the close names the registry has, else a plain instruction. */
function nameFix(hint: string, otherwise: string): string {
  return hint ? `${otherwise}; ${hint}` : otherwise;
}

/** Pods carry their service account's pull secrets already (ServiceAccount admission plugin); templates do not. */
function mayHaveUnseenCredentials(input: CheckInput): boolean {
  return input.workload.podSpec.imagePullSecrets.length > 0 || input.workload.kind !== 'Pod';
}

/** The kubelet's default: Always for :latest or no tag, else IfNotPresent (API server defaulting). */
function pullPolicy(input: CheckInput, ref: ImageReference): string {
  const written = input.target.container.imagePullPolicy;
  if (written) return written;
  return !ref.digest && (ref.tagDefaulted || ref.tag === 'latest') ? 'Always' : 'IfNotPresent';
}

/** Secret-level findings are reported once per workload: by its first container with an image. */
function reportsWorkloadFindings(input: CheckInput): boolean {
  return input.workload.containers.find((c) => c.container.image) === input.target;
}

function list(names: readonly string[]): string {
  return names.map(q).join(', ');
}

function describeCredential(c: CredentialRef): string {
  return `${c.source} (key ${q(c.key)})`;
}

/** "the pod's pull secrets "a", "b"" / "the service account "default"'s pull secrets ..." */
function secretsPhrase(view: PullSecretsView): string {
  switch (view.from) {
    case 'service-account':
      return view.names.length
        ? `the pull secrets of service account ${q(view.serviceAccount ?? 'default')} (${list(view.names)})`
        : `service account ${q(view.serviceAccount ?? 'default')}, which has no pull secrets`;
    case 'docker-config':
      return `docker config ${view.names[0] ?? ''}`;
    case 'none':
      return 'no pull secrets';
    default:
      return view.names.length ? `pull secret${view.names.length > 1 ? 's' : ''} ${list(view.names)}` : 'no pull secrets';
  }
}

function secretFindings(view: PullSecretsView, namespace: string | undefined, finding: (c: Finding['certainty'], m: string) => Finding): Finding[] {
  const out: Finding[] = [];
  const where = namespace ? ` in namespace ${namespace}` : '';
  if (view.missing.length > 0) {
    const names = view.missing.join(', ');
    out.push(
      finding(
        'likely',
        `missing pull secret${view.missing.length > 1 ? 's' : ''}${where}; kubelet: "Unable to retrieve some image pull secrets (${names}); attempting to pull the image may not succeed."; fix: create ${view.missing.length > 1 ? 'them' : 'it'}`,
      ),
    );
  }
  for (const s of view.ignored) {
    out.push(finding('likely', `pull secret ${q(s.name)} is ignored by the kubelet: ${s.reason}; fix: kubectl create secret docker-registry`));
  }
  for (const s of view.invalid) {
    out.push(finding('likely', `pull secret ${q(s.name)} cannot be parsed (${cut(s.reason, 90)}): the kubelet fails this pod's pulls with that error; fix: recreate it`));
  }
  return out;
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function nodesPhrase(p: NodeImagePresence): string {
  return `present on ${p.withImage} of ${p.nodes} node${p.nodes === 1 ? '' : 's'}`;
}

function when(until: number | undefined, retryAfterMs: number | undefined): string {
  if (until !== undefined) return new Date(until).toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (retryAfterMs !== undefined) return `about ${Math.max(1, Math.round(retryAfterMs / 60_000))} min from now`;
  return 'the limit resets';
}

/** Pulls the rollout causes: one per replica (upper bound; IfNotPresent may skip some). */
function pullsNeeded(input: CheckInput): number {
  const replicas = input.workload.replicas;
  return typeof replicas === 'number' && replicas > 0 ? replicas : 1;
}

export const imageExists: Check<CheckPorts> = {
  id: ID,
  description: 'the image must exist in its registry and be pullable with the pod\'s credentials (else ErrImagePull, then ImagePullBackOff)',
  async run(input, ports): Promise<Finding[]> {
    const ref = input.image;
    if (!ref) return [];
    const container = input.target.container.name;
    const make = (certainty: Finding['certainty'], message: string, fix?: string, detail?: string): Finding => ({
      checkId: ID,
      container,
      certainty,
      message,
      ...(fix ? { fix } : {}),
      ...(detail ? { detail } : {}),
    });
    const image = q(ref.original);
    const podSpec = input.workload.podSpec;
    const pulls = outcome(input, 'pull').text;

    const view = ports.pullSecrets
      ? await ports.pullSecrets.forWorkload(
          {
            kind: input.workload.kind,
            ...(input.workload.namespace !== undefined ? { namespace: input.workload.namespace } : {}),
            imagePullSecrets: podSpec.imagePullSecrets,
            ...(podSpec.serviceAccountName !== undefined ? { serviceAccountName: podSpec.serviceAccountName } : {}),
          },
          input.signal,
        )
      : undefined;
    const credentials = view ? view.credentialsFor(ref) : [];
    const lookup = await ports.images.lookup(ref, input.signal, credentials.length > 0 ? { credentials } : {});
    const policy = pullPolicy(input, ref);
    const never = policy === 'Never';
    const out: Finding[] = view?.known && reportsWorkloadFindings(input) ? secretFindings(view, input.workload.namespace, make) : [];
    const presence = async (): Promise<NodeImagePresence | undefined> => (ports.nodeImages ? ports.nodeImages.presence(ref, input.signal).catch(() => undefined) : undefined);

    switch (lookup.status) {
      case 'found': {
        const rl = lookup.rateLimit;
        if (!never && rl) {
          const need = pullsNeeded(input);
          if (rl.remaining < rl.warnBelow || rl.remaining < need) {
            out.push(
              make(
                'likely',
                `${lookup.registry} has ${rl.remaining} pull${rl.remaining === 1 ? '' : 's'} left${rl.limit !== undefined ? ` of ${rl.limit}` : ''}${perWindow(rl.windowS)}, this rollout needs up to ${need}: pulls may fail with 429 toomanyrequests (${pulls})`,
                'authenticate the pulls or use a registry mirror',
              ),
            );
          }
        }
        if (!never && lookup.notInspected) {
          out.push(make('unverified', `could not verify what image ${image} runs: ${lookup.notInspected}; allowed unchecked`));
        }
        return out;
      }
      case 'not-found': {
        const hint = didYouMean(rewrite(ref, lookup, lookup.what));
        const checkedWith = lookup.credential ? ` (asked with ${describeCredential(lookup.credential)})` : '';
        if (never) {
          const p = await presence();
          return [
            ...out,
            make(
              'likely',
              `${p ? '' : `image ${image} `}not in ${lookup.registry} and imagePullPolicy is Never: it starts only where preloaded${p ? ` (${nodesPhrase(p)})` : ''}, elsewhere ErrImageNeverPull`,
              nameFix(hint, 'preload it on every node, or push it'),
            ),
          ];
        }
        // The image is named once: the runtime's words below carry its full name already.
        const why =
          lookup.what === 'tag'
            ? `tag ${q(ref.tag ?? ref.reference)} does not exist`
            : lookup.what === 'manifest'
              ? 'no manifest has that digest'
              : lookup.source === 'official-images-list'
                ? `${q(ref.path.replace(/^library\//, ''))} is not a Docker Official Image, so it cannot exist`
                : 'the repository does not exist';
        // Node cache: with IfNotPresent, nodes that already hold the image start the pod.
        if (policy === 'IfNotPresent') {
          const p = await presence();
          if (p && p.withImage > 0) {
            return [
              ...out,
              make(
                'likely',
                `not in ${lookup.registry}, but ${nodesPhrase(p)} (IfNotPresent: it starts there); any other node will fail with ErrImagePull`,
                nameFix(hint, `push it to ${lookup.registry}`),
              ),
            ];
          }
        }
        return [
          ...out,
          make(
            'certain',
            `image ${image} not found: ${why}; the pull fails with ${
              lookup.accessDenied
                ? '"pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed"'
                : `"failed to resolve reference ${ref.normalized}: not found"`
            } (${pulls})`,
            nameFix(hint, 'correct the image name or tag'),
            checkedWith.trim().replace(/^\(|\)$/g, ''),
          ),
        ];
      }
      case 'unauthorized': {
        if (never) return out;
        const hint = didYouMean(rewrite(ref, lookup, 'repository'));
        const serverSaid = lookup.detail ? `: server message: ${lookup.detail}` : '';
        const rejected = lookup.rejected ?? [];
        if (lookup.credentialsOnNodes) {
          const also = rejected.length ? `; ${rejected.map((c) => c.source).join(', ')} rejected` : '';
          return [
            ...out,
            make('unverified', `could not verify ${rejected.length ? 'the image' : `image ${image}`}: ${lookup.registry} needs credentials that live on the nodes (credential provider)${also}`, 'make sure the nodes can pull it'),
          ];
        }
        if (rejected.length > 0) {
          // Every matching credential was refused, and the kubelet does not fall back to anonymous.
          const sources = rejected.map(describeCredential);
          const subject = rejected.length === 1 ? `credentials in ${sources[0]} were` : `credentials in ${sources.slice(0, -1).join(', ')} and ${sources[sources.length - 1]} were all`;
          if (!view?.known || view.missing.length) {
            // A missing secret created later is read at the next pull attempt, and unread pull
            // secrets (no access) may hold working credentials: not certain.
            return [
              ...out,
              make(
                'likely',
                `${rejected.length === 1 ? `credentials in ${rejected[0]!.source} were` : 'all matching credentials were'} rejected by ${lookup.registry}: ErrImagePull until fixed`,
                `update the secret with working credentials`,
                view?.known ? `pull secrets ${list(view.missing)} are missing and may be the right ones` : "the pod's own pull secrets were not read",
              ),
            ];
          }
          return [
            ...out,
            make(
              'certain',
              `image ${image}: ${subject} rejected by ${lookup.registry}; the kubelet tries no other credential, so the pull fails with "${PULL_ACCESS_DENIED}${serverSaid}" (${pulls})`,
              nameFix(hint, `update the secret with working credentials for ${lookup.registry}`),
            ),
          ];
        }
        if (!view || !view.known) {
          // Nothing known about the pod's credentials (no cluster access): judge as before.
          if (mayHaveUnseenCredentials(input)) {
            const secrets = podSpec.imagePullSecrets;
            return [
              ...out,
              make(
                'likely',
                `image ${image}: ${lookup.registry} refused anonymous access (the repository is private or does not exist); the pull fails with ErrImagePull unless ${secrets.length ? `pull secret ${list(secrets)}` : `the service account ${q(podSpec.serviceAccountName ?? 'default')}'s pull secrets`} grant it`,
                nameFix(hint, `make sure a pull secret of the pod has credentials for ${lookup.registry}`),
              ),
            ];
          }
          return [
            ...out,
            make(
              'certain',
              `image ${image}: "${PULL_ACCESS_DENIED}" (${lookup.registry} refused anonymous access): ${pulls}`,
              `correct the name${hint ? ` (${hint})` : ''} or add imagePullSecrets`,
            ),
          ];
        }
        // No credential matched: the node pulls anonymously and is refused.
        if (view.missing.length || view.invalid.length) {
          // The missing or broken secret may be the one meant for this registry, and is read again
          // at the next pull attempt once fixed: a warning.
          const broken = [...view.missing, ...view.invalid.map((x) => x.name)];
          return [
            ...out,
            make(
              'likely',
              `no usable pull secret for ${lookup.registry} (${list(broken)} missing or broken): ErrImagePull until fixed`,
              'create or repair the pull secret',
              `the node pulls anonymously and is refused: "${PULL_ACCESS_DENIED}"`,
            ),
          ];
        }
        if (view.names.length === 0 && view.from !== 'docker-config') {
          return [
            ...out,
            make(
              'certain',
              `image ${image}: "${PULL_ACCESS_DENIED}" (${lookup.registry} refused anonymous access and ${secretsPhrase(view)}): ${pulls}`,
              `correct the name${hint ? ` (${hint})` : ''} or add imagePullSecrets`,
            ),
          ];
        }
        return [
          ...out,
          make(
            'certain',
            `image ${image}: ${lookup.registry} requires authorization and none of ${secretsPhrase(view)} has credentials for it, so the node pulls anonymously and fails with "${PULL_ACCESS_DENIED}${serverSaid}" (${pulls})`,
            nameFix(hint, `add an auths entry for ${lookup.registry} to a pull secret`),
          ),
        ];
      }
      case 'rate-limited': {
        if (never) return out;
        return [
          ...out,
          make(
            'likely',
            `${lookup.registry} is rate limiting pulls (429 toomanyrequests): they may fail until ${when(lookup.until, lookup.retryAfterMs)} (${pulls})`,
            'authenticate the pulls or use a registry mirror',
          ),
        ];
      }
      case 'unreachable':
        if (never) return out;
        return [...out, make('unverified', `could not verify image ${image}: ${lookup.registry} ${lookup.reason}; allowed unchecked`)];
    }
  },
};
