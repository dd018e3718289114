// The kubelet's keyring (pkg/credentialprovider/keyring.go BasicDockerKeyring and
// UnionDockerKeyring), reproduced rule for rule. Pure: docker configs in, the ordered list of
// credentials the node will try for an image out, each tagged with where it came from and the
// key that matched.
//
// Add (one docker config; several secrets go into one keyring, in the pod's order):
//   1. a key without "https://" or "http://" gets "https://" prepended and is parsed as a URL
//      (Go net/url; a key that does not parse is ignored, as the kubelet logs and skips it);
//   2. a path starting with "/v1/" or "/v2/" loses those 3 characters;
//   3. the index key is host[:port] plus the path unless it is empty or "/";
//   4. the index is de-duplicated and reverse-sorted (byte order), so "quay.io/team" comes
//      before "quay.io" and "registry.example.com" before "*.example.com".
// Lookup(image), image being the normalised repository name ("docker.io/library/nginx"):
//   5. every index key whose URL matches the image's (URLsMatch: same number of host labels,
//      each label a filepath.Match glob, port equal as a string, the key's path a raw string
//      prefix of the image's) contributes its credentials, in index order;
//   6. only when none matched, a Docker Hub image (isDefaultRegistryMatch) gets the
//      credentials of the "index.docker.io" key (what "https://index.docker.io/v1/" becomes);
//   7. the union keyring appends the next keyring's matches (the node's own credentials).
// The node tries each credential in that order until a pull succeeds; when at least one
// matched, it never tries anonymously.
import { createHash } from 'node:crypto';
import type { Credential, DockerConfigEntry } from './docker-config.js';
import { BadPatternError, filepathMatch, parseGoUrl, splitHostPort } from './go-match.js';

/** Where a credential came from, for messages ("secret default/regcred"). Never a value. */
export type CredentialSource =
  | { kind: 'secret'; namespace: string; name: string }
  /** A docker config file given to the CLI (`check --docker-config`). */
  | { kind: 'file'; path: string }
  /** The nodes' own docker config (mounted into the webhook to stand for them). */
  | { kind: 'node'; name: string };

export interface MatchedCredential {
  source: CredentialSource;
  /** The key as written in the docker config. */
  key: string;
  /** The keyring's index key it became ("index.docker.io", "quay.io/team"). */
  indexKey: string;
  credential: Credential;
  /** Non-reversible identity of the credential (cache keys, dedup); never the secret. */
  id: string;
}

const DEFAULT_REGISTRY_HOST = 'index.docker.io';

export function describeSource(s: CredentialSource): string {
  switch (s.kind) {
    case 'secret':
      return `secret ${s.namespace}/${s.name}`;
    case 'file':
      return `docker config ${s.path}`;
    case 'node':
      return `node credentials ${s.name}`;
  }
}

/** A stable, non-reversible name for a credential's content. */
export function credentialId(c: Credential): string {
  const parts = [c.username ?? '', c.password ?? '', c.identityToken ?? '', c.registryToken ?? ''];
  if (parts.every((p) => p === '')) return 'empty';
  return `cred:${createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32)}`;
}

/** keyring.go Add, steps 1-3: the index key of a docker config key, or undefined when Go cannot parse it. */
export function indexKeyOf(loc: string): string | undefined {
  const value = loc.startsWith('https://') || loc.startsWith('http://') ? loc : `https://${loc}`;
  const parsed = parseGoUrl(value);
  if (!parsed) return undefined;
  let path = parsed.path;
  if (path.startsWith('/v2/') || path.startsWith('/v1/')) path = path.slice(3);
  return path.length > 0 && path !== '/' ? parsed.host + path : parsed.host;
}

function splitUrl(host: string): { parts: string[]; port: string } {
  const hp = splitHostPort(host);
  const h = hp ? hp.host : host;
  return { parts: h.split('.'), port: hp ? hp.port : '' };
}

/** keyring.go URLsMatchStr(glob, target): both schemeless. */
export function urlsMatch(glob: string, target: string): boolean {
  const g = parseGoUrl(`https://${glob}`);
  const t = parseGoUrl(`https://${target}`);
  if (!g || !t) return false;
  const gs = splitUrl(g.host);
  const ts = splitUrl(t.host);
  if (gs.port !== ts.port) return false;
  if (gs.parts.length !== ts.parts.length) return false;
  if (!t.path.startsWith(g.path)) return false;
  try {
    return gs.parts.every((p, i) => filepathMatch(p, ts.parts[i]!));
  } catch (err) {
    if (err instanceof BadPatternError) return false;
    throw err;
  }
}

/** keyring.go isDefaultRegistryMatch. */
export function isDefaultRegistryMatch(image: string): boolean {
  const slash = image.indexOf('/');
  const first = slash < 0 ? image : image.slice(0, slash);
  if (first === '') return false;
  if (slash < 0) return true;
  if (first === 'docker.io' || first === 'index.docker.io') return true;
  return !/[.:]/.test(first);
}

/** Go's sort.Reverse(sort.StringSlice): byte order, descending. */
function reverseByteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(b, 'utf8'), Buffer.from(a, 'utf8'));
}

/** One BasicDockerKeyring. */
export class Keyring {
  #index: string[] = [];
  #creds = new Map<string, MatchedCredential[]>();

  get size(): number {
    return this.#index.length;
  }

  /** Adds one docker config. Returns the keys that were ignored because they do not parse. */
  add(source: CredentialSource, entries: readonly DockerConfigEntry[]): string[] {
    const ignored: string[] = [];
    for (const e of entries) {
      const indexKey = indexKeyOf(e.key);
      if (indexKey === undefined) {
        ignored.push(e.key);
        continue;
      }
      const list = this.#creds.get(indexKey) ?? [];
      list.push({ source, key: e.key, indexKey, credential: e.credential, id: credentialId(e.credential) });
      this.#creds.set(indexKey, list);
      this.#index.push(indexKey);
    }
    this.#index = [...new Set(this.#index)].sort(reverseByteOrder);
    return ignored;
  }

  /** The credentials for `image` (a normalised repository name), most specific key first. */
  lookup(image: string): MatchedCredential[] {
    const out: MatchedCredential[] = [];
    for (const k of this.#index) if (urlsMatch(k, image)) out.push(...(this.#creds.get(k) ?? []));
    if (out.length > 0) return out;
    if (isDefaultRegistryMatch(image)) return [...(this.#creds.get(DEFAULT_REGISTRY_HOST) ?? [])];
    return [];
  }
}

/** UnionDockerKeyring: each keyring's matches, in order (pull secrets first, then the node's). */
export function unionLookup(keyrings: readonly (Keyring | undefined)[], image: string): MatchedCredential[] {
  return keyrings.flatMap((k) => (k ? k.lookup(image) : []));
}
