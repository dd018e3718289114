// RegistryClient: asks a registry whether a manifest exists, the way kubelet's runtime would
// pull it, without pulling it. OCI distribution spec v1.1 ("Pull" workflow; "Content
// Discovery" for tags) and the docker token authentication spec.
//
// Every call goes through the same steps (#authorized and the callers below):
//   1. Ping: GET /v2/ anonymously, once per host (cached, shared by concurrent callers):
//      200 means no auth; 401 carries the WWW-Authenticate challenge.
//   2. Answer the challenge:
//      - none: send nothing;
//      - Basic: send the username/password, only to this registry's origin;
//      - Bearer: exchange for a token with scope=repository:<path>:pull at the realm
//        (token.ts: cached per realm/service/scope/credential, one fetch per key in flight);
//        anonymously when no credential is given; a `registryToken` is used as is.
//   3. Send the request: HEAD /v2/<path>/manifests/<ref> with every manifest type in Accept;
//      when HEAD answers 405/501 or 2xx without a Docker-Content-Digest, GET it (capped at
//      4 MiB) and hash the body. A 401 here is retried once when it shows the cached auth
//      was stale: a challenge where the ping had none, another realm, or error="invalid_token".
//   4. Classify failures into RegistryError (errors.ts): 404 -> not-found (MANIFEST_UNKNOWN /
//      NAME_UNKNOWN in `codes`; a HEAD has no body, so a 401/403/404 is re-asked once with GET
//      to learn the codes and the registry's message),
//      401 -> unauthorized, 403 -> denied, 429 -> rate-limited (+ retryAfterMs), 5xx -> server,
//      socket/TLS/DNS/timeout errors by their codes (transport.ts).
// The whole call (ping, token, request, fallbacks) runs under one deadline (timeoutMs) and
// the caller's AbortSignal.
//
// Endpoints (containerd's hosts.toml semantics, remotes/docker/resolver.go): a domain may have
// mirrors; each call tries them in order, then the upstream (`server`, or the domain itself)
// unless `upstream: false`. The first success wins; when all fail, the first error that is not
// a 404 is reported, else not-found. Mirror requests carry `?ns=<domain>` as containerd's do.
// Each endpoint has its own deadline, trust store, SSRF exemption, concurrency cap and 429
// back-off (transport.ts).
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { parseWWWAuthenticate, selectChallenge, type Challenge } from './challenge.js';
import { RegistryError, scrub } from './errors.js';
import type { LookupFunction } from './guard.js';
import { MANIFEST_ACCEPT } from './media-types.js';
import { apiUrl, checkDomain, checkReference, checkRepository, defaultServer, isDigest, parseServer } from './names.js';
import { TokenCache, basicAuthorization, credentialSecrets, usableForToken, type BearerParams, type Credential } from './token.js';
import {
  Deadline,
  HostTransport,
  deadlineError,
  headerValue,
  parseRateLimit,
  raceDeadline,
  responseError,
  type HostSettings,
  type RateLimitInfo,
  type RequestObserver,
  type TransportResponse,
} from './transport.js';

export type { Credential } from './token.js';
export type { RateLimitInfo } from './transport.js';

/** How to reach one endpoint (the upstream, or a mirror). */
export interface RegistryEndpointConfig {
  /** Extra CA PEM(s) trusted for this endpoint, on top of the system store and NODE_EXTRA_CA_CERTS. */
  ca?: string | string[];
  /** Allow a plain http:// server (and token realm). */
  insecure?: boolean;
  /** Allow this endpoint's own names to be loopback/link-local/metadata addresses (SSRF guard exemption). */
  allowPrivateNetwork?: boolean;
  timeoutMs?: number;
  /** TLS client certificate and key (PEM) for mutual TLS. */
  cert?: string;
  key?: string;
}

export interface RegistryMirrorConfig extends RegistryEndpointConfig {
  /** Base URL of the mirror, e.g. 'https://mirror.internal:5000' (containerd hosts.toml `[host."..."]`). */
  server: string;
}

export interface RegistryHostConfig extends RegistryEndpointConfig {
  /** Upstream base URL override, e.g. 'https://127.0.0.1:5000' (containerd hosts.toml `server`). */
  server?: string;
  /** Tried in order before the upstream. */
  mirrors?: RegistryMirrorConfig[];
  /** Fall back to the upstream after the mirrors (default true). */
  upstream?: boolean;
}

export interface RegistryClientOptions {
  /** Keyed by image domain ('docker.io', 'quay.io', '127.0.0.1:5000'). */
  hosts?: Record<string, RegistryHostConfig>;
  /** Deadline for one client call, all steps included (default 2500 ms). */
  timeoutMs?: number;
  userAgent?: string;
  /** Requests in flight at once per endpoint (default 8); more wait for a slot. */
  maxConcurrentPerHost?: number;
  /** Back-off after a 429 that says nothing about when to retry (default 60 s). */
  defaultBackoffMs?: number;
  /** Injectable DNS lookup (tests of the SSRF guard). */
  lookup?: LookupFunction;
  /** Told of every HTTP request sent to a registry: its status, or the error kind (metrics). */
  observe?: RequestObserver;
  /**
   * Bearer tokens kept (one per repository and credential; default 10000, the engine passes
   * cache.maxEntries): the least recently used go first.
   */
  maxCachedTokens?: number;
  /**
   * Registries without an entry in `hosts` whose transport is kept (default 256). Image
   * references name any domain they like, and each domain asked about gets a transport (a TLS
   * context and a connection pool, ~10 KB): past this many, the least recently used one is
   * closed (gracefully: its requests in flight finish) and made again if asked about again.
   * Configured hosts are always kept.
   */
  maxCachedHosts?: number;
}

/** Default of RegistryClientOptions.maxCachedHosts. */
export const DEFAULT_MAX_CACHED_HOSTS = 256;

export interface RepoRef {
  domain: string;
  path: string;
}
export interface ManifestRef extends RepoRef {
  /** Tag or digest. */
  reference: string;
}
export interface ManifestDescriptor {
  digest?: string;
  mediaType?: string;
  size?: number;
  /** The registry's quota headers on this answer (Docker Hub sends them on HEAD, which is free). */
  rateLimit?: RateLimitInfo;
  /** The endpoint that answered, when it is not the upstream (a mirror's host). */
  mirror?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
  credential?: Credential;
}
export interface GetBlobOptions extends CallOptions {
  /** Largest blob accepted, in bytes (default MAX_BLOB_BYTES): `too-large` past it. */
  maxBytes?: number;
}
export interface ListTagsOptions extends CallOptions {
  /** Stop after this many tags (default 1000). */
  max?: number;
  /** Tags asked per page (`n`, default min(max, 1000)); the registry may send fewer. */
  pageSize?: number;
}

export const DEFAULT_TIMEOUT_MS = 2500;
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Default cap of getBlob. */
export const MAX_BLOB_BYTES = 1024 * 1024 * 1024;
const MAX_TAGS_PAGE_BYTES = 4 * 1024 * 1024;
const PING_TTL_MS = 10 * 60 * 1000;
const DIGEST_HEADER = 'docker-content-digest';
const STRICT_DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

interface PingResult {
  /** undefined: the registry needs no auth. */
  challenge: Challenge | undefined;
  at: number;
}

interface Call {
  transport: HostTransport;
  scope: string;
  credential: Credential | undefined;
  deadline: Deadline;
  secrets: string[];
  /** `?ns=<domain>` for mirror requests. */
  ns?: string;
  /** Set by an operation that hands its deadline over to a stream (getBlob). */
  keep?: boolean;
}

interface Authorization {
  header?: string;
  anonymous: boolean;
  bearer?: BearerParams;
  challenge: Challenge | undefined;
}

interface Sent {
  res: TransportResponse;
  auth: Authorization;
}

function manifestPath(ref: ManifestRef): string {
  return `/v2/${ref.path}/manifests/${ref.reference}`;
}

function sameChallenge(a: Challenge | undefined, b: Challenge | undefined): boolean {
  if (!a || !b) return a === b;
  return a.scheme === b.scheme && a.params['realm'] === b.params['realm'] && a.params['service'] === b.params['service'];
}

/** The value of a rel="next" link (RFC 8288), as the distribution spec paginates tags. */
export function nextLink(link: string | undefined): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel\s*=\s*"?next"?(\s|;|$)/i.test(m[2] ?? '')) return m[1];
  }
  return undefined;
}

export class RegistryClient {
  #opts: RegistryClientOptions;
  #hosts = new Map<string, HostTransport[]>();
  /** The domains of #hosts that are not configured, least recently used first. */
  #unconfigured = new Set<string>();
  #pings = new Map<string, PingResult>();
  #pingsInFlight = new Map<string, Promise<PingResult>>();
  #tokens: TokenCache;
  #closed = false;

  constructor(opts: RegistryClientOptions = {}) {
    this.#opts = opts;
    this.#tokens = new TokenCache(Date.now, opts.maxCachedTokens);
  }

  /** Token requests sent so far (metrics). */
  get tokenFetches(): number {
    return this.#tokens.fetches;
  }

  /** Domains whose transports are kept, configured or not (tests of the bound). */
  get cachedHosts(): number {
    return this.#hosts.size;
  }

  /** Resolves a tag or digest to its descriptor without downloading the manifest when possible. */
  async headManifest(ref: ManifestRef, opts: CallOptions = {}): Promise<ManifestDescriptor> {
    checkReference(ref.domain, ref.reference);
    return this.#across(ref, opts, async (call) => {
      const url = this.#url(call, manifestPath(ref));
      // 3. HEAD the manifest.
      const { res, auth } = await this.#authorized(call, { method: 'HEAD', url, accept: MANIFEST_ACCEPT, maxBody: 0 });
      if (res.status >= 200 && res.status < 300) {
        const desc = this.#headDescriptor(call, res, ref, auth);
        if (desc) return desc;
        // 2xx without a digest: not usable, GET it below.
      } else if (res.status === 401 || res.status === 403 || res.status === 404) {
        // A HEAD error has no body, and the body is where the registry says which: MANIFEST_UNKNOWN
        // or NAME_UNKNOWN, UNAUTHORIZED or DENIED and why. Ask once more with GET to learn it
        // (failure path only; never for 429, where another request would make things worse).
        const headError = this.#responseError(call, res, auth, 'HEAD');
        try {
          return (await this.#fetchManifest(call, ref)).descriptor;
        } catch (err) {
          if (err instanceof RegistryError && err.status === res.status) throw err;
          throw headError;
        }
      } else if (res.status !== 405 && res.status !== 501) {
        throw this.#responseError(call, res, auth, 'HEAD');
      }
      // HEAD not supported or not usable: GET, capped.
      return (await this.#fetchManifest(call, ref)).descriptor;
    });
  }

  /** Downloads a manifest (at most 4 MiB) and verifies its digest. */
  async getManifest(ref: ManifestRef, opts: CallOptions = {}): Promise<{ descriptor: ManifestDescriptor; body: Buffer }> {
    checkReference(ref.domain, ref.reference);
    return this.#across(ref, opts, (call) => this.#fetchManifest(call, ref));
  }

  /**
   * Streams a blob (a config or a layer) by digest: authenticated like a manifest (same
   * repository pull scope), following the registry's redirect to blob storage (distribution
   * spec "Pulling blobs"; the Authorization header stays on the registry's origin). The
   * timeout covers ping, token, connect and headers; the body is read at the caller's pace
   * and bounded by the caller's signal and `maxBytes` (Content-Length up front, else counted:
   * the stream fails with a `too-large` RegistryError). The content is not verified.
   */
  async getBlob(ref: RepoRef & { digest: string }, opts: GetBlobOptions = {}): Promise<Readable> {
    if (!isDigest(ref.digest)) throw new RegistryError({ kind: 'protocol', host: ref.domain, anonymous: true, summary: `invalid blob digest "${ref.digest.slice(0, 100)}"` });
    checkReference(ref.domain, ref.digest);
    const maxBytes = Math.max(0, Math.floor(opts.maxBytes ?? MAX_BLOB_BYTES));
    return this.#across(ref, opts, async (call) => {
      const url = this.#url(call, `/v2/${ref.path}/blobs/${ref.digest}`);
      const { res, auth } = await this.#authorized(call, { method: 'GET', url, accept: '*/*', maxBody: maxBytes, stream: true });
      if (res.status < 200 || res.status >= 300 || !res.stream) {
        res.stream?.destroy();
        throw this.#responseError(call, res, auth, 'GET');
      }
      const stream = res.stream;
      // Headers are in: the clock stops; the caller's signal still aborts the transfer.
      call.deadline.release();
      call.keep = true;
      stream.once('close', () => call.deadline.dispose());
      return stream;
    });
  }

  /** Lists tags, following Link pagination until `max` tags (default 1000). */
  async listTags(repo: RepoRef, opts: ListTagsOptions = {}): Promise<string[]> {
    const max = Math.max(1, Math.floor(opts.max ?? 1000));
    return this.#across(repo, opts, (call) => this.#paginate(call, `/v2/${repo.path}/tags/list`, 'tags', max, opts.pageSize));
  }

  /**
   * Lists the registry's repositories (`GET /v2/_catalog`, distribution's catalog API), following
   * Link pagination until `max` names (default 10000). Under token auth it asks for the scope
   * `registry:catalog:*`; registries that do not offer a catalog (Docker Hub) or do not grant it
   * answer 401, 403 or 404, thrown as a RegistryError like any other.
   */
  async listRepositories(domain: string, opts: ListTagsOptions = {}): Promise<string[]> {
    const max = Math.max(1, Math.floor(opts.max ?? 10_000));
    return this.#across({ domain }, opts, (call) => this.#paginate(call, '/v2/_catalog', 'repositories', max, opts.pageSize), 'registry:catalog:*');
  }

  /** GETs a JSON list page by page (`n`, rel="next" links on the same origin) until `max` items. */
  async #paginate(call: Call, path: string, field: 'tags' | 'repositories', max: number, pageSize: number | undefined): Promise<string[]> {
    const base = call.transport.settings.base;
    let url: URL | undefined = this.#url(call, path);
    url.searchParams.set('n', String(Math.max(1, Math.floor(pageSize ?? Math.min(max, 1000)))));
    const items: string[] = [];
    const seen = new Set<string>();
    const what = field === 'tags' ? 'tag list' : 'repository catalog';
    while (url && items.length < max) {
      if (seen.has(url.href)) break; // a server linking to itself must not loop us forever
      seen.add(url.href);
      const { res, auth } = await this.#authorized(call, { method: 'GET', url, accept: 'application/json', maxBody: MAX_TAGS_PAGE_BYTES });
      if (res.status !== 200) throw this.#responseError(call, res, auth, 'GET');
      let page: Record<string, unknown>;
      try {
        page = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;
      } catch (cause) {
        throw new RegistryError({ kind: 'protocol', host: call.transport.host, url, method: 'GET', status: res.status, anonymous: auth.anonymous, summary: `${what} is not JSON`, cause });
      }
      // Distribution answers "tags": null for a repository whose tags were all deleted.
      const list = page?.[field];
      const pageItems = Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [];
      for (const item of pageItems) {
        if (items.length >= max) break;
        items.push(item);
      }
      const link = nextLink(headerValue(res.headers, 'link'));
      if (link === undefined || pageItems.length === 0) break;
      const next = new URL(link, res.url);
      // Pagination must stay on the registry: a Link to another origin would receive our token.
      if (next.origin !== base.origin) {
        throw new RegistryError({ kind: 'protocol', host: call.transport.host, url, method: 'GET', anonymous: auth.anonymous, summary: `${what} pagination points to another origin` });
      }
      url = next;
    }
    return items;
  }

  /** Epoch ms until which the domain's endpoints are all backed off after 429s (0: none is). */
  backoffUntil(domain: string): number {
    const endpoints = this.#hosts.get(domain.toLowerCase());
    if (!endpoints || endpoints.length === 0) return 0;
    const all = endpoints.map((e) => e.backoffUntil);
    return all.every((x) => x > 0) ? Math.min(...all) : 0;
  }

  /**
   * The pull quota the domain's registry stated last (ratelimit-* headers of any answer, HEADs
   * included), with when it was seen; undefined when none of its answers carried one.
   */
  rateLimit(domain: string): (RateLimitInfo & { at: number }) | undefined {
    let last: (RateLimitInfo & { at: number }) | undefined;
    for (const e of this.#hosts.get(domain.toLowerCase()) ?? []) {
      if (e.lastRateLimit && (!last || e.lastRateLimit.at >= last.at)) last = e.lastRateLimit;
    }
    return last;
  }

  /** Requests in flight for a domain's endpoints (tests of the concurrency cap). */
  inFlight(domain: string): number {
    return (this.#hosts.get(domain.toLowerCase()) ?? []).reduce((n, e) => n + e.inFlight, 0);
  }

  async close(): Promise<void> {
    await this.#shutdown('close');
  }

  /** Like close(), but aborts requests still in flight (shutdown: nobody waits for their answers). */
  async destroy(): Promise<void> {
    await this.#shutdown('destroy');
  }

  async #shutdown(how: 'close' | 'destroy'): Promise<void> {
    this.#closed = true;
    const all = [...this.#hosts.values()].flat();
    this.#hosts.clear();
    this.#unconfigured.clear();
    await Promise.all(all.map((t) => t[how]()));
  }

  // ---- internals ----

  /**
   * Runs `op` against each endpoint of the repository's domain in order (mirrors, then the
   * upstream), each under its own deadline, until one succeeds; containerd's rule for the
   * error when none does.
   */
  async #across<T>(repo: { domain: string; path?: string }, opts: CallOptions, op: (call: Call) => Promise<T>, scope = `repository:${repo.path}:pull`): Promise<T> {
    checkDomain(repo.domain);
    if (repo.path !== undefined) checkRepository(repo.domain, repo.path);
    if (this.#closed) throw new RegistryError({ kind: 'network', host: repo.domain, anonymous: true, summary: 'client is closed' });
    const endpoints = this.#endpoints(repo.domain);
    if (endpoints.length === 0) {
      throw new RegistryError({ kind: 'protocol', host: repo.domain, anonymous: true, summary: 'no endpoint: no mirrors and upstream: false' });
    }
    let firstError: RegistryError | undefined;
    let notFound: RegistryError | undefined;
    for (const transport of endpoints) {
      const call: Call = {
        transport,
        scope,
        credential: opts.credential,
        deadline: new Deadline(transport.settings.timeoutMs, opts.signal),
        secrets: credentialSecrets(opts.credential),
        ...(transport.settings.mirrorOf !== undefined ? { ns: transport.settings.mirrorOf } : {}),
      };
      try {
        return await op(call);
      } catch (err) {
        if (!(err instanceof RegistryError) || endpoints.length === 1 || opts.signal?.aborted) throw err;
        if (err.kind === 'not-found') notFound ??= err;
        else firstError ??= err;
      } finally {
        if (!call.keep) call.deadline.dispose();
      }
    }
    throw (firstError ?? notFound)!;
  }

  #url(call: Call, path: string): URL {
    const u = apiUrl(call.transport.settings.base, path);
    if (call.ns !== undefined) u.searchParams.set('ns', call.ns);
    return u;
  }

  #endpoints(domain: string): HostTransport[] {
    const key = domain.toLowerCase();
    const existing = this.#hosts.get(key);
    if (existing) {
      if (this.#unconfigured.delete(key)) this.#unconfigured.add(key);
      return existing;
    }
    const configured = this.#opts.hosts?.[key] ?? this.#opts.hosts?.[domain];
    const cfg = configured ?? {};
    const list: HostTransport[] = [];
    for (const m of cfg.mirrors ?? []) {
      const base = parseServer(key, m.server);
      list.push(this.#makeTransport(base.host, base, m, [base.hostname], key));
    }
    if (cfg.upstream !== false) {
      const base = parseServer(key, cfg.server ?? defaultServer(key));
      // The exemption covers the domain's own name and its server's.
      const own = key.replace(/:\d+$/, '');
      list.push(this.#makeTransport(key, base, cfg, [own, base.hostname], undefined));
    }
    this.#hosts.set(key, list);
    if (!configured) {
      this.#unconfigured.add(key);
      this.#forgetHosts(Math.max(1, Math.floor(this.#opts.maxCachedHosts ?? DEFAULT_MAX_CACHED_HOSTS)), key);
    }
    return list;
  }

  /** Closes the least recently used unconfigured domains' transports past `max` (never `keep`'s). */
  #forgetHosts(max: number, keep: string): void {
    for (const old of this.#unconfigured) {
      if (this.#unconfigured.size <= max || old === keep) break;
      const transports = this.#hosts.get(old) ?? [];
      // A registry backed off after a 429 keeps its transport, and with it the back-off.
      if (transports.some((t) => t.backoffUntil > 0)) continue;
      this.#unconfigured.delete(old);
      this.#hosts.delete(old);
      for (const t of transports) {
        this.#pings.delete(t.settings.base.href);
        // Graceful: a request still in flight on it finishes first.
        void t.close().catch(() => undefined);
      }
    }
  }

  #makeTransport(label: string, base: URL, cfg: RegistryEndpointConfig, names: string[], mirrorOf: string | undefined): HostTransport {
    const settings: HostSettings = {
      domain: label,
      base,
      insecure: cfg.insecure ?? false,
      allowPrivateNetwork: cfg.allowPrivateNetwork ?? false,
      privateHostnames: names,
      timeoutMs: cfg.timeoutMs ?? this.#opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    };
    if (mirrorOf !== undefined) settings.mirrorOf = mirrorOf;
    if (cfg.ca !== undefined) settings.ca = Array.isArray(cfg.ca) ? cfg.ca : [cfg.ca];
    if (cfg.cert !== undefined && cfg.key !== undefined) {
      settings.cert = cfg.cert;
      settings.key = cfg.key;
    }
    return new HostTransport(settings, {
      userAgent: this.#opts.userAgent ?? 'backoff-guard',
      connections: this.#opts.maxConcurrentPerHost ?? 8,
      ...(this.#opts.defaultBackoffMs !== undefined ? { defaultBackoffMs: this.#opts.defaultBackoffMs } : {}),
      ...(this.#opts.lookup ? { lookup: this.#opts.lookup } : {}),
      ...(this.#opts.observe ? { observe: this.#opts.observe } : {}),
    });
  }

  /** Steps 1-3: ping, answer the challenge, send; one retry on a stale-auth 401. */
  async #authorized(call: Call, req: { method: 'GET' | 'HEAD'; url: URL; accept: string; maxBody: number; stream?: boolean }): Promise<Sent> {
    // 1. What auth does this registry want?
    let challenge = (await this.#ping(call)).challenge;
    for (let attempt = 0; ; attempt++) {
      // 2. Answer the challenge.
      const auth = await this.#authorize(call, challenge);
      // 3. Send the request.
      const res = await call.transport.send({
        method: req.method,
        url: req.url,
        headers: { accept: req.accept },
        ...(auth.header !== undefined ? { authorization: auth.header } : {}),
        deadline: call.deadline,
        maxBody: req.maxBody,
        anonymous: auth.anonymous,
        secrets: call.secrets,
        ...(req.stream ? { stream: true } : {}),
      });
      if (res.status !== 401 || attempt > 0) return { res, auth };
      const fresh = selectChallenge(parseWWWAuthenticate(res.headers['www-authenticate']));
      if (!fresh) return { res, auth };
      let stale: boolean;
      if (auth.header === undefined) {
        // The ping said "no auth" (or we had nothing for its scheme) but this resource wants
        // some: retry if we can answer it now.
        stale = fresh.scheme === 'bearer' || (fresh.scheme === 'basic' && usableForToken(call.credential));
      } else if (!sameChallenge(challenge, fresh)) {
        // The registry moved its token service or changed scheme.
        stale = true;
      } else {
        // Our cached token expired early or was revoked.
        stale = fresh.scheme === 'bearer' && fresh.params['error'] === 'invalid_token' && auth.bearer !== undefined;
      }
      if (!stale) return { res, auth };
      if (auth.bearer) this.#tokens.invalidate(auth.bearer, call.credential);
      this.#pings.set(call.transport.settings.base.href, { challenge: fresh, at: Date.now() });
      challenge = fresh;
    }
  }

  /** Step 1: GET /v2/, cached per upstream base and shared by concurrent callers. */
  #ping(call: Call): Promise<PingResult> {
    const transport = call.transport;
    const key = transport.settings.base.href;
    const cached = this.#pings.get(key);
    if (cached && Date.now() - cached.at < PING_TTL_MS) return Promise.resolve(cached);
    let shared = this.#pingsInFlight.get(key);
    if (!shared) {
      const own = new Deadline(transport.settings.timeoutMs);
      const url = apiUrl(transport.settings.base, '/v2/');
      shared = transport
        .send({ method: 'GET', url, deadline: own, maxBody: 64 * 1024, anonymous: true, headers: { accept: 'application/json' } })
        .then((res) => {
          let result: PingResult;
          if (res.status >= 200 && res.status < 300) {
            result = { challenge: undefined, at: Date.now() };
          } else if (res.status === 401) {
            const challenges = parseWWWAuthenticate(res.headers['www-authenticate']);
            result = { challenge: selectChallenge(challenges), at: Date.now() };
            if (!result.challenge) {
              throw new RegistryError({
                kind: 'unauthorized',
                host: transport.host,
                url,
                method: 'GET',
                status: 401,
                anonymous: true,
                summary: `unsupported authentication scheme${challenges.length > 0 ? ` ${challenges.map((c) => c.scheme).join(', ')}` : ' (no WWW-Authenticate challenge)'}`,
              });
            }
          } else {
            const err = responseError(res, { host: transport.host, method: 'GET', anonymous: true });
            if (err.kind === 'rate-limited' || err.kind === 'server' || err.kind === 'denied') throw err;
            // Anything else means this is not a distribution API endpoint.
            throw new RegistryError({
              kind: 'protocol',
              host: transport.host,
              url,
              method: 'GET',
              status: res.status,
              codes: err.codes,
              ...(err.detail !== undefined ? { detail: err.detail } : {}),
              anonymous: true,
              summary: 'not a registry API v2 endpoint',
            });
          }
          this.#pings.set(key, result);
          return result;
        })
        .finally(() => {
          own.dispose();
          this.#pingsInFlight.delete(key);
        });
      this.#pingsInFlight.set(key, shared);
      shared.catch(() => undefined);
    }
    return raceDeadline(shared, call.deadline, () =>
      deadlineError(call.deadline, { host: transport.host, url: apiUrl(transport.settings.base, '/v2/'), method: 'GET', anonymous: true }),
    );
  }

  /** Step 2: the Authorization header (if any) answering the challenge. */
  async #authorize(call: Call, challenge: Challenge | undefined): Promise<Authorization> {
    const cred = call.credential;
    if (!challenge) return { anonymous: true, challenge };
    if (challenge.scheme === 'basic') {
      if (cred && (cred.username !== undefined || cred.password !== undefined)) {
        return { header: basicAuthorization(cred), anonymous: false, challenge };
      }
      return { anonymous: true, challenge };
    }
    // Bearer.
    if (cred?.registryToken) return { header: `Bearer ${cred.registryToken}`, anonymous: false, challenge };
    const realm = challenge.params['realm'];
    if (!realm) {
      throw new RegistryError({ kind: 'protocol', host: call.transport.host, anonymous: !usableForToken(cred), summary: 'Bearer challenge without realm' });
    }
    const bearer: BearerParams = { realm, scope: call.scope };
    if (challenge.params['service'] !== undefined) bearer.service = challenge.params['service'];
    const token = await this.#tokens.get(call.transport, bearer, cred, call.deadline);
    call.secrets.push(token.token);
    return { header: `Bearer ${token.token}`, anonymous: !usableForToken(cred), bearer, challenge };
  }

  /** Step 4 for HTTP answers: the RegistryError for a non-success response. */
  #responseError(call: Call, res: TransportResponse, auth: Authorization, method: string): RegistryError {
    let detail: string | undefined;
    if (res.status === 401) {
      // The registry's reason is split between the body (absent for HEAD) and the challenge's
      // error="insufficient_scope" / error_description (RFC 6750 §3).
      const c = selectChallenge(parseWWWAuthenticate(res.headers['www-authenticate']));
      const body = responseError(res, { host: call.transport.host, method, anonymous: auth.anonymous }).detail;
      const fromChallenge = [c?.params['error'], c?.params['error_description']].filter((x): x is string => !!x).join(': ');
      const parts = [body, fromChallenge].filter((x): x is string => !!x);
      if (parts.length > 0) detail = scrub(parts.join('; '), call.secrets);
    }
    return responseError(res, {
      host: call.transport.host,
      method,
      anonymous: auth.anonymous,
      secrets: call.secrets,
      ...(detail !== undefined ? { detail } : {}),
    });
  }

  /** A descriptor from HEAD headers, or undefined when they carry no usable digest. */
  #headDescriptor(call: Call, res: TransportResponse, ref: ManifestRef, auth: Authorization): ManifestDescriptor | undefined {
    const header = headerValue(res.headers, DIGEST_HEADER)?.trim();
    const requested = isDigest(ref.reference) ? ref.reference : undefined;
    if (header !== undefined && requested !== undefined && header !== requested) {
      throw new RegistryError({
        kind: 'protocol',
        host: ref.domain,
        url: res.url,
        method: 'HEAD',
        status: res.status,
        anonymous: auth.anonymous,
        summary: 'registry answered a different digest than requested',
        detail: scrub(header, call.secrets),
      });
    }
    const digest = header !== undefined && STRICT_DIGEST.test(header) ? header : requested;
    if (digest === undefined) return undefined;
    const desc: ManifestDescriptor = { digest };
    const mediaType = headerValue(res.headers, 'content-type')?.split(';')[0]?.trim();
    if (mediaType) desc.mediaType = mediaType;
    const size = Number(headerValue(res.headers, 'content-length'));
    if (Number.isInteger(size) && size > 0) desc.size = size;
    const rateLimit = parseRateLimit(res.headers);
    if (rateLimit) desc.rateLimit = rateLimit;
    if (call.ns !== undefined) desc.mirror = call.transport.host;
    return desc;
  }

  /** Step 3 fallback and getManifest: GET, cap, hash, compare digests. */
  async #fetchManifest(call: Call, ref: ManifestRef): Promise<{ descriptor: ManifestDescriptor; body: Buffer }> {
    const url = this.#url(call, manifestPath(ref));
    const { res, auth } = await this.#authorized(call, { method: 'GET', url, accept: MANIFEST_ACCEPT, maxBody: MAX_MANIFEST_BYTES });
    if (res.status !== 200) throw this.#responseError(call, res, auth, 'GET');
    const body = res.body;
    const header = headerValue(res.headers, DIGEST_HEADER)?.trim();
    const requested = isDigest(ref.reference) ? ref.reference : undefined;
    // Verify against the digest we asked for, else the one the registry claims (distribution
    // spec: clients SHOULD verify Docker-Content-Digest against the received content).
    const expected = requested ?? (header !== undefined && STRICT_DIGEST.test(header) ? header : undefined);
    const algorithm = expected?.startsWith('sha512:') ? 'sha512' : 'sha256';
    const digest = `${algorithm}:${createHash(algorithm).update(body).digest('hex')}`;
    if (expected !== undefined && expected !== digest) {
      throw new RegistryError({
        kind: 'protocol',
        host: ref.domain,
        url: res.url,
        method: 'GET',
        status: res.status,
        anonymous: auth.anonymous,
        summary: `manifest content does not match digest ${expected}`,
      });
    }
    const descriptor: ManifestDescriptor = { digest, size: body.length };
    const rateLimit = parseRateLimit(res.headers);
    if (rateLimit) descriptor.rateLimit = rateLimit;
    if (call.ns !== undefined) descriptor.mirror = call.transport.host;
    let mediaType = headerValue(res.headers, 'content-type')?.split(';')[0]?.trim();
    if (!mediaType || mediaType === 'application/json' || mediaType === 'text/plain') {
      try {
        const parsed = JSON.parse(body.toString('utf8')) as { mediaType?: unknown };
        if (typeof parsed?.mediaType === 'string') mediaType = parsed.mediaType;
      } catch {
        // leave the header's type
      }
    }
    if (mediaType) descriptor.mediaType = mediaType;
    return { descriptor, body };
  }
}
