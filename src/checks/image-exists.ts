// image-exists: the registry the node pulls from must have the image, and let the pod pull it.
// The messages quote the runtime's own words (containerd remotes/docker/resolver.go, kubelet
// images/image_manager.go) so users recognise what `kubectl describe pod` would show later.
import type { ImageReference } from '../image/reference.js';
import type { CheckPorts, ImageLookup } from './ports.js';
import type { Check, CheckInput, Finding } from './types.js';

export const ID = 'image-exists';

const q = (s: string) => JSON.stringify(s);

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

function didYouMean(list: string[]): string {
  if (list.length === 0) return '';
  return `; did you mean ${list.map(q).join(' or ')}?`;
}

/** Pods carry their service account's pull secrets already (ServiceAccount admission plugin); templates do not. */
function mayHaveUnseenCredentials(input: CheckInput): boolean {
  return input.workload.podSpec.imagePullSecrets.length > 0 || input.workload.kind !== 'Pod';
}

export const imageExists: Check<CheckPorts> = {
  id: ID,
  description: 'the image must exist in its registry and be pullable (else ErrImagePull, then ImagePullBackOff)',
  async run(input, ports): Promise<Finding[]> {
    const ref = input.image;
    if (!ref) return [];
    const container = input.target.container.name;
    const lookup = await ports.images.lookup(ref, input.signal);
    const never = input.target.container.imagePullPolicy === 'Never';
    const finding = (certainty: Finding['certainty'], message: string): Finding[] => [{ checkId: ID, container, certainty, message }];
    const image = q(ref.original);

    switch (lookup.status) {
      case 'found':
        return [];
      case 'not-found': {
        const hint = didYouMean(rewrite(ref, lookup, lookup.what));
        if (never) {
          return finding(
            'likely',
            `image ${image} is not in ${lookup.registry} and imagePullPolicy is Never: it starts only on nodes where it is preloaded, elsewhere ErrImageNeverPull${hint}`,
          );
        }
        const why =
          lookup.what === 'tag'
            ? `tag ${q(ref.tag ?? ref.reference)} does not exist in ${ref.name}`
            : lookup.what === 'manifest'
              ? `digest ${ref.digest} does not exist in ${ref.name}`
              : lookup.source === 'official-images-list'
                ? `${ref.name} is not a Docker Official Image, so it cannot exist`
                : `repository ${ref.name} does not exist`;
        return finding(
          'certain',
          `image ${image} not found: ${why}; the pod will fail with ErrImagePull (failed to resolve reference ${q(ref.normalized)}: not found), then ImagePullBackOff${hint || '; fix: correct the image name or tag'}`,
        );
      }
      case 'unauthorized': {
        const hint = didYouMean(rewrite(ref, lookup, 'repository'));
        if (lookup.credentialsOnNodes) {
          return finding(
            'unverified',
            `could not verify image ${image}: ${lookup.registry} needs credentials that live on the nodes (credential provider); make sure the nodes can pull it`,
          );
        }
        if (mayHaveUnseenCredentials(input)) {
          const secrets = input.workload.podSpec.imagePullSecrets;
          return finding(
            'likely',
            `image ${image}: ${lookup.registry} refused anonymous access (the repository is private or does not exist); the pull fails with ErrImagePull unless ${secrets.length ? `pull secret ${secrets.map(q).join(', ')}` : `the service account ${q(input.workload.podSpec.serviceAccountName ?? 'default')}'s pull secrets`} grant it${hint}`,
          );
        }
        return finding(
          'certain',
          `image ${image}: pull access denied, repository does not exist or may require authorization (${lookup.registry} refused anonymous access): the pod will fail with ErrImagePull, then ImagePullBackOff; fix: correct the name${hint ? ` (${hint.slice(2)})` : ''} or add imagePullSecrets`,
        );
      }
      case 'rate-limited': {
        const wait = lookup.retryAfterMs ? ` for about ${Math.max(1, Math.round(lookup.retryAfterMs / 60_000))} min` : '';
        return finding(
          'likely',
          `image ${image}: ${lookup.registry} is rate-limiting pulls (429 Too Many Requests - toomanyrequests)${wait}: pods may fail with ErrImagePull; fix: authenticated pulls or a mirror`,
        );
      }
      case 'unreachable':
        return finding('unverified', `could not verify image ${image}: ${lookup.registry} ${lookup.reason}; allowed unchecked`);
    }
  },
};
