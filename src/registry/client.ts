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
import { createHash } from 'node:crypto';
import { parseWWWAuthenticate, selectChallenge, type Challenge } from './challenge.js';
import { RegistryError, scrub } from './errors.js';
import type { LookupFunction } from './guard.js';
import { MANIFEST_ACCEPT } from './media-types.js';
import { apiUrl, checkDomain, checkReference, checkRepository, defaultServer, isDigest, parseServer } from './names.js';
import { TokenCache, basicAuthorization, credentialSecrets, usableForToken, type BearerParams, type Credential } from './token.js';
import { Deadline, HostTransport, deadlineError, headerValue, raceDeadline, responseError, type HostSettings, type TransportResponse } from './transport.js';

export type { Credential } from './token.js';

export interface RegistryHostConfig {
  /** Upstream base URL override, e.g. 'https://127.0.0.1:5000' (containerd hosts.toml `server`). */
  server?: string;
  /** Extra CA PEM(s) trusted for this host, on top of the system store and NODE_EXTRA_CA_CERTS. */
  ca?: string | string[];
  /** Allow a plain http:// server (and token realm). */
  insecure?: boolean;
  /** Allow loopback/link-local/metadata addresses for this host (the SSRF guard is off). */
  allowPrivateNetwork?: boolean;
  timeoutMs?: number;
}

export interface RegistryClientOptions {
  /** Keyed by image domain ('docker.io', 'quay.io', '127.0.0.1:5000'). */
  hosts?: Record<string, RegistryHostConfig>;
  /** Deadline for one client call, all steps included (default 2500 ms). */
  timeoutMs?: number;
  userAgent?: string;
  maxConcurrentPerHost?: number;
  /** Injectable DNS lookup (tests of the SSRF guard). */
  lookup?: LookupFunction;
}

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
}

export interface CallOptions {
  signal?: AbortSignal;
  credential?: Credential;
}
export interface ListTagsOptions extends CallOptions {
  /** Stop after this many tags (default 1000). */
  max?: number;
  /** Tags asked per page (`n`, default min(max, 1000)); the registry may send fewer. */
  pageSize?: number;
}

export const DEFAULT_TIMEOUT_MS = 2500;
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
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
  #hosts = new Map<string, HostTransport>();
  #pings = new Map<string, PingResult>();
  #pingsInFlight = new Map<string, Promise<PingResult>>();
  #tokens = new TokenCache();
  #closed = false;

  constructor(opts: RegistryClientOptions = {}) {
    this.#opts = opts;
  }

  /** Token requests sent so far (metrics). */
  get tokenFetches(): number {
    return this.#tokens.fetches;
  }

  /** Resolves a tag or digest to its descriptor without downloading the manifest when possible. */
  async headManifest(ref: ManifestRef, opts: CallOptions = {}): Promise<ManifestDescriptor> {
    checkReference(ref.domain, ref.reference);
    const call = this.#begin(ref, opts);
    try {
      const url = apiUrl(call.transport.settings.base, manifestPath(ref));
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
    } finally {
      call.deadline.dispose();
    }
  }

  /** Downloads a manifest (at most 4 MiB) and verifies its digest. */
  async getManifest(ref: ManifestRef, opts: CallOptions = {}): Promise<{ descriptor: ManifestDescriptor; body: Buffer }> {
    checkReference(ref.domain, ref.reference);
    const call = this.#begin(ref, opts);
    try {
      return await this.#fetchManifest(call, ref);
    } finally {
      call.deadline.dispose();
    }
  }

  /** Lists tags, following Link pagination until `max` tags (default 1000). */
  async listTags(repo: RepoRef, opts: ListTagsOptions = {}): Promise<string[]> {
    const max = Math.max(1, Math.floor(opts.max ?? 1000));
    const call = this.#begin(repo, opts);
    try {
      const base = call.transport.settings.base;
      let url: URL | undefined = apiUrl(base, `/v2/${repo.path}/tags/list`);
      url.searchParams.set('n', String(Math.max(1, Math.floor(opts.pageSize ?? Math.min(max, 1000)))));
      const tags: string[] = [];
      const seen = new Set<string>();
      while (url && tags.length < max) {
        if (seen.has(url.href)) break; // a server linking to itself must not loop us forever
        seen.add(url.href);
        const { res, auth } = await this.#authorized(call, { method: 'GET', url, accept: 'application/json', maxBody: MAX_TAGS_PAGE_BYTES });
        if (res.status !== 200) throw this.#responseError(call, res, auth, 'GET');
        let page: { tags?: unknown };
        try {
          page = JSON.parse(res.body.toString('utf8')) as { tags?: unknown };
        } catch (cause) {
          throw new RegistryError({ kind: 'protocol', host: repo.domain, url, method: 'GET', status: res.status, anonymous: auth.anonymous, summary: 'tag list is not JSON', cause });
        }
        // Distribution answers "tags": null for a repository whose tags were all deleted.
        const pageTags = Array.isArray(page?.tags) ? page.tags.filter((x): x is string => typeof x === 'string') : [];
        for (const tag of pageTags) {
          if (tags.length >= max) break;
          tags.push(tag);
        }
        const link = nextLink(headerValue(res.headers, 'link'));
        if (link === undefined || pageTags.length === 0) break;
        const next = new URL(link, res.url);
        // Pagination must stay on the registry: a Link to another origin would receive our token.
        if (next.origin !== base.origin) {
          throw new RegistryError({ kind: 'protocol', host: repo.domain, url, method: 'GET', anonymous: auth.anonymous, summary: 'tag list pagination points to another origin' });
        }
        url = next;
      }
      return tags;
    } finally {
      call.deadline.dispose();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#hosts.values()];
    this.#hosts.clear();
    await Promise.all(all.map((t) => t.close()));
  }

  // ---- internals ----

  #begin(repo: RepoRef, opts: CallOptions): Call {
    checkDomain(repo.domain);
    checkRepository(repo.domain, repo.path);
    if (this.#closed) throw new RegistryError({ kind: 'network', host: repo.domain, anonymous: true, summary: 'client is closed' });
    const transport = this.#transport(repo.domain);
    return {
      transport,
      scope: `repository:${repo.path}:pull`,
      credential: opts.credential,
      deadline: new Deadline(transport.settings.timeoutMs, opts.signal),
      secrets: credentialSecrets(opts.credential),
    };
  }

  #transport(domain: string): HostTransport {
    const key = domain.toLowerCase();
    const existing = this.#hosts.get(key);
    if (existing) return existing;
    const cfg = this.#opts.hosts?.[key] ?? this.#opts.hosts?.[domain] ?? {};
    const settings: HostSettings = {
      domain: key,
      base: parseServer(key, cfg.server ?? defaultServer(key)),
      insecure: cfg.insecure ?? false,
      allowPrivateNetwork: cfg.allowPrivateNetwork ?? false,
      timeoutMs: cfg.timeoutMs ?? this.#opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    };
    if (cfg.ca !== undefined) settings.ca = Array.isArray(cfg.ca) ? cfg.ca : [cfg.ca];
    const transport = new HostTransport(settings, {
      userAgent: this.#opts.userAgent ?? 'backoff-guard',
      connections: this.#opts.maxConcurrentPerHost ?? 8,
      ...(this.#opts.lookup ? { lookup: this.#opts.lookup } : {}),
    });
    this.#hosts.set(key, transport);
    return transport;
  }

  /** Steps 1-3: ping, answer the challenge, send; one retry on a stale-auth 401. */
  async #authorized(call: Call, req: { method: 'GET' | 'HEAD'; url: URL; accept: string; maxBody: number }): Promise<Sent> {
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
    return desc;
  }

  /** Step 3 fallback and getManifest: GET, cap, hash, compare digests. */
  async #fetchManifest(call: Call, ref: ManifestRef): Promise<{ descriptor: ManifestDescriptor; body: Buffer }> {
    const url = apiUrl(call.transport.settings.base, manifestPath(ref));
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
