// What a registry request costs in the registry's own terms (issue 12: the pull budget).
//
// Docker Hub counts "GET requests on registry manifest URLs (/v2/*/manifests/*)" as pulls; a
// HEAD of the same URL, a token request and a blob download are not counted (Docker's "Pull
// usage and limits", docs.docker.com/docker-hub/usage/pulls/). Anonymous clients get 10 pulls
// an hour per IPv4 address or IPv6 /64, shared with the nodes behind the same NAT.
// No other public registry documents a per-request quota, so the same rule (a manifest GET is
// a pull, the distribution spec's "Pulling manifests") is applied everywhere: an upper bound.
// Docker does not say whether a GET answered 404 is counted: every manifest GET that reached
// the registry is counted (an upper bound again); one stopped before sending is not.

import { isDockerHub as isHubDomain } from '../image/reference.js';

export type RequestKind = 'ping' | 'manifest' | 'blob' | 'tags' | 'catalog' | 'token';

/** Docker Hub's image domain and API hosts (containerd and docker hard-code the split), any case. */
export function isDockerHub(domain: string): boolean {
  return isHubDomain(domain.toLowerCase());
}

/** What a request to `url` is, from its path (distribution spec endpoint table). */
export function requestKind(url: URL): RequestKind {
  const p = url.pathname;
  if (p === '/v2/' || p === '/v2') return 'ping';
  if (!p.startsWith('/v2/')) return 'token';
  if (/\/manifests\/[^/]+$/.test(p)) return 'manifest';
  if (/\/blobs\/[^/]+$/.test(p)) return 'blob';
  if (p.endsWith('/tags/list')) return 'tags';
  if (p === '/v2/_catalog') return 'catalog';
  return 'token';
}

/** Whether a request that reached the registry counts against its pull quota. */
export function isCountedPull(method: string, kind: RequestKind): boolean {
  return method === 'GET' && kind === 'manifest';
}
