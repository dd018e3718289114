// ImageFacts backed by the registries: HEAD the manifest, and on a miss find out whether the tag
// or the whole repository is missing and what the user probably meant.
// Cached (positive, negative and error answers with their own TTLs, bounded), and concurrent
// lookups of one image share one registry request. Lookups are not cancelled by a review's
// deadline: they finish in the background and fill the cache for the next review.
//
// Credentials (issue 4): a lookup may carry the credentials the node will try, in the kubelet's
// order (kuberuntime_image.go PullImage): each is tried until one pulls; anonymous only when
// none matched. Each attempt is cached on its own, keyed by image and the credential's
// identity (a hash, never the value), so two namespaces with the same secret share answers
// while each result still names its own secret and key.
import type { CredentialCandidate, CredentialRef, ImageLookup, ImageFacts, LookupOptions } from '../checks/ports.js';
import { closestMatches } from '../image/closest.js';
import { officialImages, suggestOfficialImage } from '../image/official-images.js';
import { isOfficialLibrary, type ImageReference } from '../image/reference.js';
import type { Credential, ManifestDescriptor, RegistryClient } from '../registry/client.js';
import { RegistryError } from '../registry/errors.js';
import { credentialId } from '../credentials/keyring.js';
import { matchesAny } from '../util/host-glob.js';
import type { SharedCache } from '../cache/shared-cache.js';
import { SingleFlight } from '../util/single-flight.js';
import { TtlCache } from '../util/ttl-cache.js';

export interface ImageFactsOptions {
  registry: Pick<RegistryClient, 'headManifest' | 'listTags'> & Partial<Pick<RegistryClient, 'getManifest' | 'listRepositories'>>;
  /**
   * Someone needs the manifest itself (the image inspector): lookups then GET it instead of HEAD
   * (one request instead of two) and hand over the verified body.
   */
  onManifest?: (ref: ImageReference, descriptor: ManifestDescriptor, body: Buffer) => void | Promise<void>;
  /**
   * Whether the lookup of `ref` may GET the manifest for onManifest (issue 12: a GET is a counted
   * pull on Docker Hub, a HEAD is free); default: always when onManifest is set.
   */
  manifestWanted?: (ref: ImageReference) => boolean;
  /** Why the image-aware checks will not read `ref` right now (inspect policy, pull quota); undefined: they will. */
  inspectGate?: (ref: ImageReference) => string | undefined;
  cache: { positiveTtlMs: number; negativeTtlMs: number; errorTtlMs: number; maxEntries: number };
  /** Host globs whose credentials live on the nodes: auth failures there are not the pod's fault. */
  credentialsOnNodes: readonly string[];
  /** Judge docker.io/library/<name> from the shipped Official Images list when Hub cannot be asked. */
  offlineDockerHubCheck: boolean;
  /**
   * Issue 12: the replicas' shared cache. Only anonymous lookups go there (their key is the
   * registry host and the reference; a credential's answers stay in this process), and only
   * definite answers (found, not-found, unauthorized) with their TTLs.
   */
  shared?: SharedCache;
  /** Called for each registry answer (metrics, logs). */
  onLookup?: (ref: ImageReference, result: ImageLookup, cached: boolean) => void;
  /** Warn when a registry's remaining pull quota is below this (default 10). */
  rateLimitWarnBelow?: number;
  now?: () => number;
  /**
   * "Did you mean" for a missing repository from the registry's catalog (/v2/_catalog): at most
   * `maxRepositories` names read (default 10000), kept `ttlMs` (default 10 min) per registry and
   * credential. Skipped for Docker Hub (no catalog; the Official Images list serves there).
   */
  catalog?: { maxRepositories?: number; ttlMs?: number };
}

const TAG_SUGGESTION_LIST_MAX = 1000;
const CATALOG_MAX = 10_000;
const CATALOG_TTL_MS = 10 * 60_000;
const CATALOG_MAX_REGISTRIES = 256;

const NETWORK_WORDS: Record<string, string> = {
  OFFLINE: 'was not asked (offline mode)',
  ENOTFOUND: 'cannot be resolved (DNS: no such host)',
  EAI_AGAIN: 'cannot be resolved right now (DNS: EAI_AGAIN)',
  ECONNREFUSED: 'refused the connection (ECONNREFUSED)',
  ECONNRESET: 'reset the connection (ECONNRESET)',
  EHOSTUNREACH: 'is unreachable (EHOSTUNREACH)',
  ENETUNREACH: 'is unreachable (ENETUNREACH)',
};

export function describeFailure(e: RegistryError): string {
  switch (e.kind) {
    case 'timeout':
      return 'did not answer in time';
    case 'tls':
      // The TLS error code (SELF_SIGNED_CERT_IN_CHAIN, CERT_HAS_EXPIRED...), never message text.
      return `presented a certificate that is not trusted (${e.errno ?? 'TLS error'}); add its CA with registry.hosts.<domain>.caFile`;
    case 'blocked':
      return 'resolves to a loopback, link-local or metadata address, which backoff-guard does not call unless the registry is configured';
    case 'server':
      return `answered HTTP ${e.status ?? '5xx'}`;
    case 'network':
      return NETWORK_WORDS[e.errno ?? ''] ?? `is unreachable (${e.errno ?? 'network error'})`;
    case 'too-large':
      return 'sent a response larger than allowed';
    default:
      return `gave an unexpected answer (${e.status ? `HTTP ${e.status}` : e.kind})`;
  }
}

const LOOKUP_STATUSES = new Set(['found', 'not-found', 'unauthorized']);

/** A lookup read back from the shared cache, or undefined when it is not one. */
function decodeLookup(raw: unknown): ImageLookup | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.status !== 'string' || !LOOKUP_STATUSES.has(r.status) || typeof r.registry !== 'string') return undefined;
  if (r.status === 'found' && r.digest !== undefined && (typeof r.digest !== 'string' || !/^sha(256|512):[a-f0-9]+$/.test(r.digest))) return undefined;
  if (r.status === 'not-found' && (!Array.isArray(r.suggestions) || typeof r.what !== 'string')) return undefined;
  if (r.status === 'unauthorized' && !Array.isArray(r.suggestions)) return undefined;
  return raw as ImageLookup;
}

/** A tag list read back from the shared cache: strings only, no more than a lookup reads. */
function decodeTags(raw: unknown): string[] | undefined {
  if (!Array.isArray(raw) || raw.length > TAG_SUGGESTION_LIST_MAX || !raw.every((x) => typeof x === 'string' && x.length <= 128)) return undefined;
  return raw as string[];
}

export class RegistryImageFacts implements ImageFacts {
  private readonly cache: TtlCache<string, ImageLookup>;
  private readonly flights = new SingleFlight<string, ImageLookup>();
  /** Repository names per registry and credential; null: the registry would not list them. */
  private readonly catalogs = new TtlCache<string, string[] | null>(CATALOG_MAX_REGISTRIES);
  private readonly catalogFlights = new SingleFlight<string, string[] | null>();

  constructor(private readonly opts: ImageFactsOptions) {
    this.cache = new TtlCache(opts.cache.maxEntries);
  }

  /** The names of the repositories the registry lists to this credential, or null (denied, absent, failed). */
  private async catalog(domain: string, credential: Credential | undefined): Promise<string[] | null> {
    const list = this.opts.registry.listRepositories;
    if (!list || domain === 'docker.io') return null;
    const key = `${domain}#${credential ? credentialId(credential) : 'anonymous'}`;
    const cached = this.catalogs.get(key);
    if (cached !== undefined) return cached;
    return this.catalogFlights.do(key, async () => {
      let names: string[] | null;
      try {
        names = await list.call(this.opts.registry, domain, { max: this.opts.catalog?.maxRepositories ?? CATALOG_MAX, ...(credential ? { credential } : {}) });
      } catch {
        // 401/403 (not granted), 404 (no catalog API), or a failure: no hint, and do not ask
        // again for a while.
        names = null;
      }
      this.catalogs.set(key, names, this.opts.catalog?.ttlMs ?? CATALOG_TTL_MS);
      return names;
    });
  }

  /** Suggestions for a repository that does not exist: Official Images on Docker Hub, the catalog elsewhere. */
  private async repositorySuggestions(ref: ImageReference, credential: Credential | undefined): Promise<string[]> {
    if (isOfficialLibrary(ref)) return suggestOfficialImage(ref.path);
    const names = await this.catalog(ref.domain, credential);
    if (!names) return [];
    // A typo is in one part of the path: allow the edits a name of the last part's length
    // would (a third of it), so "library/ngiinx" finds "library/nginx" and not "library/alpine".
    const last = ref.path.slice(ref.path.lastIndexOf('/') + 1);
    return closestMatches(ref.path, names, { maxDistance: Math.max(1, Math.floor(Array.from(last).length / 3)) });
  }

  get cacheStats(): { hits: number; misses: number; size: number } {
    return { hits: this.cache.hits, misses: this.cache.misses, size: this.cache.size };
  }

  async lookup(ref: ImageReference, signal: AbortSignal, opts: LookupOptions = {}): Promise<ImageLookup> {
    const r = await this.lookupAll(ref, signal, opts);
    // Asked at each lookup, never cached: the quota moves with every pull.
    if (r.status !== 'found') return r;
    const why = this.opts.inspectGate?.(ref);
    return why ? { ...r, notInspected: why } : r;
  }

  private async lookupAll(ref: ImageReference, _signal: AbortSignal, opts: LookupOptions): Promise<ImageLookup> {
    const candidates = opts.credentials ?? [];
    if (candidates.length === 0) return this.attempt(ref, undefined);
    // The kubelet's loop: the first credential that pulls wins; a refused one is followed by
    // the next; when every one failed, the pull fails (never anonymously).
    let notFound: ImageLookup | undefined;
    let refused: Extract<ImageLookup, { status: 'unauthorized' }> | undefined;
    const rejected: CredentialRef[] = [];
    for (const c of candidates) {
      const r = await this.attempt(ref, c);
      const credential: CredentialRef = { source: c.source, key: c.key };
      switch (r.status) {
        case 'found':
          return { ...r, credential };
        case 'not-found':
          notFound ??= { ...r, credential };
          break;
        case 'unauthorized':
          refused ??= r;
          rejected.push(credential);
          break;
        default:
          // Rate limited or unreachable: the next credential would meet the same registry.
          return r;
      }
    }
    if (notFound) return notFound;
    return { ...refused!, rejected };
  }

  /** One pull attempt (anonymous, or with one credential), cached and single-flight. */
  private attempt(ref: ImageReference, c: CredentialCandidate | undefined): Promise<ImageLookup> {
    const key = `${ref.name}@${ref.reference}#${c ? c.id : 'anonymous'}`;
    const cached = this.cache.get(key);
    if (cached) {
      this.opts.onLookup?.(ref, cached, true);
      return Promise.resolve(cached);
    }
    return this.flights.do(key, async () => {
      const shared = c === undefined ? this.opts.shared : undefined;
      const result = shared
        ? await shared.flight('lookup', [ref.domain, ref.path, ref.reference], decodeLookup, async () => {
            const r = await this.resolve(ref);
            return { value: r, ttlMs: r.status === 'found' || r.status === 'not-found' || r.status === 'unauthorized' ? this.ttlFor(r) : 0 };
          })
        : await this.resolve(ref, c?.credential);
      this.cache.set(key, result, this.ttlFor(result));
      this.opts.onLookup?.(ref, result, false);
      return result;
    });
  }

  private ttlFor(result: ImageLookup): number {
    const c = this.opts.cache;
    switch (result.status) {
      case 'found':
        return c.positiveTtlMs;
      case 'not-found':
      case 'unauthorized':
        return c.negativeTtlMs;
      case 'rate-limited':
        return Math.max(c.errorTtlMs, Math.min(result.retryAfterMs ?? 0, 3_600_000));
      case 'unreachable':
        return c.errorTtlMs;
    }
  }

  private async resolve(ref: ImageReference, credential?: Credential): Promise<ImageLookup> {
    const registry = ref.domain;
    // distribution accepts 'a_b.c/d' as a domain-less path; no node can pull it from anywhere.
    if (registry === '') return { status: 'unreachable', registry: '(no registry)', reason: 'cannot be determined from this reference' };
    const call = credential ? { credential } : {};
    try {
      const target = { domain: ref.domain, path: ref.path, reference: ref.reference };
      const { getManifest } = this.opts.registry;
      let d: ManifestDescriptor;
      if (this.opts.onManifest && getManifest && (this.opts.manifestWanted?.(ref) ?? true)) {
        const got = await getManifest.call(this.opts.registry, target, call);
        d = got.descriptor;
        // Awaited: with a shared cache the manifest is stored before this lookup's flight ends.
        await this.opts.onManifest(ref, d, got.body);
      } else {
        d = await this.opts.registry.headManifest(target, call);
      }
      const found: Extract<ImageLookup, { status: 'found' }> = { status: 'found', registry };
      if (d.digest) found.digest = d.digest;
      if (d.mirror) found.mirror = d.mirror;
      if (d.rateLimit) {
        const { limit, remaining, windowS } = d.rateLimit;
        found.rateLimit = { remaining, warnBelow: this.opts.rateLimitWarnBelow ?? 10, ...(limit !== undefined ? { limit } : {}), ...(windowS !== undefined ? { windowS } : {}) };
      }
      return found;
    } catch (err) {
      if (!(err instanceof RegistryError)) {
        return { status: 'unreachable', registry, reason: `could not be asked (${(err as Error)?.message ?? err})` };
      }
      // Docker Hub's library/ namespace is closed: a name outside the Official Images list cannot
      // exist there, whatever Hub answers (anonymous 401 insufficient_scope looks the same for a
      // missing and a private repository) or fails to answer.
      if (isOfficialLibrary(ref) && !officialImages().has(ref.path.slice('library/'.length))) {
        const hubSaid = err.kind === 'not-found' || err.kind === 'unauthorized' || err.kind === 'denied';
        if (hubSaid || this.opts.offlineDockerHubCheck) {
          return {
            status: 'not-found',
            registry,
            what: 'repository',
            suggestions: suggestOfficialImage(ref.path),
            source: hubSaid ? 'registry' : 'official-images-list',
            ...(err.kind === 'unauthorized' || err.kind === 'denied' ? { accessDenied: true } : {}),
          };
        }
      }
      switch (err.kind) {
        case 'not-found':
          return this.whatIsMissing(ref, err, credential);
        case 'unauthorized':
        case 'denied':
          return {
            status: 'unauthorized',
            registry,
            credentialsOnNodes: matchesAny(this.opts.credentialsOnNodes, ref.domain),
            suggestions: isOfficialLibrary(ref) ? suggestOfficialImage(ref.path) : [],
            ...(err.detail ? { detail: err.detail } : {}),
          };
        case 'rate-limited':
          return err.retryAfterMs !== undefined
            ? { status: 'rate-limited', registry, retryAfterMs: err.retryAfterMs, until: (this.opts.now ?? Date.now)() + err.retryAfterMs }
            : { status: 'rate-limited', registry };
        default:
          return { status: 'unreachable', registry, reason: describeFailure(err) };
      }
    }
  }

  /** A 404 on a manifest: the tag (or digest) is missing, or the whole repository is. */
  private async whatIsMissing(ref: ImageReference, err: RegistryError, credential?: Credential): Promise<ImageLookup> {
    const registry = ref.domain;
    if (err.codes.includes('NAME_UNKNOWN')) {
      return { status: 'not-found', registry, what: 'repository', suggestions: await this.repositorySuggestions(ref, credential), source: 'registry' };
    }
    let tags: string[] | undefined;
    // Issue 12: an anonymous tag list is shared by the replicas ("did you mean" for another
    // missing tag of the same repository costs no second list); a credential's stays here.
    const shared = credential ? undefined : this.opts.shared;
    const parts = [ref.domain, ref.path];
    try {
      tags = await shared?.get('tags', parts, decodeTags);
      if (!tags) {
        tags = await this.opts.registry.listTags({ domain: ref.domain, path: ref.path }, { max: TAG_SUGGESTION_LIST_MAX, ...(credential ? { credential } : {}) });
        void shared?.set('tags', parts, tags, this.opts.cache.negativeTtlMs);
      }
    } catch (e) {
      if (e instanceof RegistryError && e.kind === 'not-found') {
        return { status: 'not-found', registry, what: 'repository', suggestions: await this.repositorySuggestions(ref, credential), source: 'registry' };
      }
      tags = undefined; // the manifest is missing either way; only the hint is lost
    }
    const what = ref.digest ? 'manifest' : 'tag';
    const suggestions = what === 'tag' && tags ? closestMatches(ref.tag ?? ref.reference, tags) : [];
    return { status: 'not-found', registry, what, suggestions, source: 'registry' };
  }
}
