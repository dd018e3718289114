// Issue 13: is an image that already runs still pullable, with the credentials its pods use?
// One HEAD of the manifest per credential, tried in the kubelet's order (kuberuntime_image.go
// PullImage: each matching pull secret, then the node's, anonymous only when none matched), so
// it is free on Docker Hub (a HEAD is not a counted pull) and never downloads anything. No cache:
// each audit pass asks the registry afresh (the admission cache would hide a deleted tag).
// The status names follow deckhouse's k8s-image-availability-exporter where they mean the same,
// so its dashboards and alerts translate.
import type { CredentialCandidate, CredentialRef } from '../checks/ports.js';
import { describeFailure } from '../facts/registry-image-facts.js';
import type { ImageReference } from '../image/reference.js';
import type { RegistryClient } from '../registry/client.js';
import { RegistryError } from '../registry/errors.js';

export type AuditStatus = 'available' | 'absent' | 'auth_failed' | 'rate_limited' | 'unreachable' | 'unverified';

export interface ImageStatus {
  status: AuditStatus;
  /** Why, in words for the person reading the table or the Event; never a secret. */
  detail: string;
  /** The credential that answered (found or absent). */
  credential?: CredentialRef;
  digest?: string;
}

/** Registry requests one status costs at most: one HEAD per credential, or one anonymous. */
export const headsFor = (candidates: readonly CredentialCandidate[]): number => Math.max(1, candidates.length);

const named = (c: CredentialRef | undefined): string => (c ? ` with ${c.source} (key ${c.key})` : ' anonymously');

/**
 * The status of `ref` as a node would pull it now. `credentialsKnown` false: the pull secrets
 * could not be read, so a refusal cannot be blamed on them (unverified, not auth_failed).
 */
export async function imageStatus(
  registry: Pick<RegistryClient, 'headManifest'>,
  ref: ImageReference,
  candidates: readonly CredentialCandidate[],
  opts: { signal?: AbortSignal; credentialsKnown?: boolean; onRequest?: () => void } = {},
): Promise<ImageStatus> {
  if (ref.domain === '') return { status: 'unverified', detail: `${ref.original} names no registry a node can pull from` };
  const attempts: Array<CredentialCandidate | undefined> = candidates.length > 0 ? [...candidates] : [undefined];
  const refused: string[] = [];
  for (const c of attempts) {
    const ref1: CredentialRef | undefined = c ? { source: c.source, key: c.key } : undefined;
    opts.onRequest?.();
    try {
      const d = await registry.headManifest(
        { domain: ref.domain, path: ref.path, reference: ref.reference },
        { ...(c ? { credential: c.credential } : {}), ...(opts.signal ? { signal: opts.signal } : {}) },
      );
      return { status: 'available', detail: `${ref.domain} has it${named(ref1)}`, ...(ref1 ? { credential: ref1 } : {}), ...(d.digest ? { digest: d.digest } : {}) };
    } catch (err) {
      if (!(err instanceof RegistryError)) return { status: 'unreachable', detail: `${ref.domain} could not be asked (${(err as Error)?.message ?? err})` };
      switch (err.kind) {
        case 'not-found':
          return { status: 'absent', detail: `${ref.domain} has no manifest ${ref.reference} in ${ref.path}${named(ref1)}`, ...(ref1 ? { credential: ref1 } : {}) };
        case 'unauthorized':
        case 'denied':
          refused.push(c ? `${c.source} (key ${c.key})` : 'anonymous access');
          continue; // the kubelet tries the next credential
        case 'rate-limited':
          return { status: 'rate_limited', detail: `${ref.domain} is rate-limiting pulls (HTTP 429)${err.retryAfterMs !== undefined ? `, retry after ${Math.ceil(err.retryAfterMs / 1000)} s` : ''}` };
        default:
          return { status: 'unreachable', detail: `${ref.domain} ${describeFailure(err)}` };
      }
    }
  }
  if (opts.credentialsKnown === false) {
    return { status: 'unverified', detail: `${ref.domain} refused ${refused.join(', ')}, and the pods' pull secrets could not be read` };
  }
  return { status: 'auth_failed', detail: `${ref.domain} refused ${refused.join(', then ')}` };
}
