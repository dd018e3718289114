// Validation of what goes into a request URL, and where an image domain's API lives.
//
// Repository names and references are pasted into the URL path, so they are checked against
// the distribution spec grammar first ("Pulling manifests": <name> and <reference>): a path
// like `a/../../x` or a reference with `?` must never reach the wire.
import { isDockerHub } from '../image/reference.js';
import { RegistryError } from './errors.js';

// <name>: path components of lowercase alphanumerics separated by '.', '_', '__' or '-'+.
const NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
// host[:port], with IPv6 literals in brackets (distribution/reference `domain`).
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;

export function isDigest(reference: string): boolean {
  return DIGEST.test(reference);
}

function invalid(host: string, what: string): RegistryError {
  return new RegistryError({ kind: 'protocol', host, anonymous: true, summary: `invalid ${what}` });
}

export function checkDomain(domain: string): void {
  if (!DOMAIN.test(domain)) throw invalid(domain.slice(0, 100), 'registry domain');
}

export function checkRepository(domain: string, path: string): void {
  if (path.length > 255 || !NAME.test(path)) throw invalid(domain, `repository name "${path.slice(0, 100)}"`);
}

export function checkReference(domain: string, reference: string): void {
  if (!TAG.test(reference) && !(reference.length <= 256 && DIGEST.test(reference))) throw invalid(domain, `tag or digest "${reference.slice(0, 100)}"`);
}

/**
 * The API base for an image domain: the configured `server`, or https://<domain>, with Docker
 * Hub's well-known split (images are named docker.io/..., the API is registry-1.docker.io;
 * containerd and docker both hard-code this).
 */
export function defaultServer(domain: string): string {
  const d = domain.toLowerCase();
  if (isDockerHub(d)) return 'https://registry-1.docker.io';
  return `https://${d}`;
}

/** Parses a configured server URL into a base without trailing slash; throws on nonsense. */
export function parseServer(domain: string, server: string): URL {
  let u: URL;
  try {
    u = new URL(server);
  } catch (cause) {
    throw new RegistryError({ kind: 'protocol', host: domain, anonymous: true, summary: 'invalid server URL in host configuration', cause });
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.username !== '' || u.password !== '' || u.search !== '' || u.hash !== '') {
    throw new RegistryError({ kind: 'protocol', host: domain, anonymous: true, summary: 'server must be a plain http(s) URL without credentials or query' });
  }
  // containerd hosts.toml lets `server` end in /v2; the API paths below add it themselves.
  u.pathname = u.pathname.replace(/\/+$/, '').replace(/\/v2$/, '');
  return u;
}

/** Joins the base URL and an API path (which starts with /v2/). */
export function apiUrl(base: URL, path: string): URL {
  const u = new URL(base.href);
  u.pathname = `${base.pathname.replace(/\/+$/, '')}${path}`;
  return u;
}
