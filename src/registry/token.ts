// Bearer token exchange and cache (docker token authentication spec,
// https://distribution.github.io/distribution/spec/auth/token/, and its OAuth2 variant,
// .../spec/auth/oauth/).
//
//   GET {realm}?service={service}&scope=repository:{path}:pull[&account={user}]
//       Authorization: Basic ... (only when a username/password is configured)
//   -> 200 {"token": "...", "access_token": "...", "expires_in": 300, "issued_at": "..."}
//
// With an identity token (what `docker login` stores as `identitytoken`) the exchange is the
// OAuth2 refresh-token grant: POST {realm} grant_type=refresh_token&refresh_token=...
//
// Tokens are cached per (realm, service, scope, credential identity) until shortly before they
// expire, and concurrent requests for the same key share one fetch: during an admission
// burst, 50 pods naming one private image cost one token request.
import { createHash } from 'node:crypto';
import { RegistryError } from './errors.js';
import { Deadline, deadlineError, raceDeadline, responseError, type HostTransport } from './transport.js';

export interface Credential {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (docker config `identitytoken`). */
  identityToken?: string;
  /** A ready bearer token for the registry itself (docker config `registrytoken`). */
  registryToken?: string;
}

export interface BearerParams {
  realm: string;
  service?: string;
  /** Resource scope, e.g. repository:library/nginx:pull */
  scope: string;
}

export interface CachedToken {
  token: string;
  /** Epoch ms after which the token is not used any more. */
  expiresAt: number;
}

/** Token responses are small JSON documents; anything larger is not a token server. */
export const MAX_TOKEN_RESPONSE = 1024 * 1024;
/** Default lifetime when the server omits expires_in (token spec: "defaults to 60 seconds"). */
const DEFAULT_EXPIRES_IN_S = 60;
const CLIENT_ID = 'backoff-guard';

/** A stable, non-reversible name for the credential, for cache keys. */
export function credentialIdentity(cred: Credential | undefined): string {
  if (!cred) return 'anonymous';
  const h = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 32);
  if (cred.identityToken) return `identity:${h(`${cred.username ?? ''}\0${cred.identityToken}`)}`;
  if (cred.username !== undefined || cred.password !== undefined) return `basic:${h(`${cred.username ?? ''}\0${cred.password ?? ''}`)}`;
  return 'anonymous';
}

/** Whether the credential can authenticate a token request (else the exchange is anonymous). */
export function usableForToken(cred: Credential | undefined): boolean {
  return !!cred && (!!cred.identityToken || cred.username !== undefined || cred.password !== undefined);
}

/** The strings that must never appear in error text for this credential. */
export function credentialSecrets(cred: Credential | undefined): string[] {
  if (!cred) return [];
  const out: string[] = [];
  if (cred.password) out.push(cred.password);
  if (cred.identityToken) out.push(cred.identityToken);
  if (cred.registryToken) out.push(cred.registryToken);
  if (cred.username !== undefined || cred.password !== undefined) out.push(Buffer.from(`${cred.username ?? ''}:${cred.password ?? ''}`).toString('base64'));
  return out;
}

export function basicAuthorization(cred: Credential): string {
  return `Basic ${Buffer.from(`${cred.username ?? ''}:${cred.password ?? ''}`).toString('base64')}`;
}

/** Computes when a fresh token stops being used: a margin before its expiry, never in the past. */
export function tokenExpiry(now: number, expiresInS: unknown, issuedAt: unknown): number {
  const lifetimeMs = (typeof expiresInS === 'number' && Number.isFinite(expiresInS) && expiresInS > 0 ? expiresInS : DEFAULT_EXPIRES_IN_S) * 1000;
  let base = now;
  // A server may hand out a token it issued earlier; count from issued_at then, unless the
  // clocks disagree so much that issued_at is in our future or before the token's lifetime.
  if (typeof issuedAt === 'string') {
    const t = Date.parse(issuedAt);
    if (!Number.isNaN(t) && t <= now && t > now - lifetimeMs) base = t;
  }
  const margin = Math.min(10_000, lifetimeMs / 10);
  return Math.max(now, base + lifetimeMs - margin);
}

/** Default bound of the token cache (RegistryClientOptions.maxCachedTokens). */
export const DEFAULT_MAX_TOKENS = 10_000;

export class TokenCache {
  /** In least recently used order: a hit moves its key to the end. */
  #tokens = new Map<string, CachedToken>();
  #inflight = new Map<string, Promise<CachedToken>>();
  #now: () => number;
  readonly #maxEntries: number;
  /** Number of token requests sent (for metrics and tests). */
  fetches = 0;

  /**
   * `maxEntries` bounds the tokens kept: there is one per repository (scope) and credential, so
   * without a bound every repository ever asked about would keep its token (1-2 KB) forever.
   */
  constructor(now: () => number = Date.now, maxEntries = DEFAULT_MAX_TOKENS) {
    this.#now = now;
    this.#maxEntries = Math.max(1, Math.floor(maxEntries));
  }

  /** Tokens held (tests, metrics). */
  get size(): number {
    return this.#tokens.size;
  }

  static key(p: BearerParams, cred: Credential | undefined): string {
    return [p.realm, p.service ?? '', p.scope, credentialIdentity(cred)].join('\n');
  }

  /** Forgets a token the registry rejected (error="invalid_token"), so the next call fetches anew. */
  invalidate(p: BearerParams, cred: Credential | undefined): void {
    this.#tokens.delete(TokenCache.key(p, cred));
  }

  /**
   * Returns a bearer token for the scope: from the cache, from a fetch already under way
   * for the same key, or from a new exchange. The shared fetch runs under its own deadline
   * (the host timeout), so one caller giving up does not fail the others; each caller stops
   * waiting at its own deadline.
   */
  async get(transport: HostTransport, p: BearerParams, cred: Credential | undefined, deadline: Deadline): Promise<CachedToken> {
    const key = TokenCache.key(p, cred);
    const hit = this.#tokens.get(key);
    if (hit) this.#tokens.delete(key);
    if (hit && hit.expiresAt > this.#now()) {
      this.#tokens.set(key, hit);
      return hit;
    }
    let shared = this.#inflight.get(key);
    if (!shared) {
      const own = new Deadline(transport.settings.timeoutMs);
      shared = this.#fetch(transport, p, cred, own)
        .then((tok) => {
          this.#remember(key, tok);
          return tok;
        })
        .finally(() => {
          own.dispose();
          this.#inflight.delete(key);
        });
      this.#inflight.set(key, shared);
      // Callers that time out stop listening; keep a late rejection from being "unhandled".
      shared.catch(() => undefined);
    }
    const anonymous = !usableForToken(cred);
    return raceDeadline(shared, deadline, () => deadlineError(deadline, { host: transport.host, url: new URL(p.realm), method: 'GET', anonymous }));
  }

  /** Keeps a fresh token, dropping the least recently used ones past the bound. */
  #remember(key: string, tok: CachedToken): void {
    this.#tokens.delete(key);
    this.#tokens.set(key, tok);
    for (const oldest of this.#tokens.keys()) {
      if (this.#tokens.size <= this.#maxEntries) break;
      this.#tokens.delete(oldest);
    }
  }

  async #fetch(transport: HostTransport, p: BearerParams, cred: Credential | undefined, deadline: Deadline): Promise<CachedToken> {
    this.fetches++;
    const anonymous = !usableForToken(cred);
    let realm: URL;
    try {
      realm = new URL(p.realm);
    } catch (cause) {
      throw new RegistryError({ kind: 'protocol', host: transport.host, anonymous, summary: 'Bearer challenge has an invalid realm', cause });
    }
    // The realm receives the credentials: never over plain http unless the operator said the
    // registry is insecure (the token spec requires TLS for the authorization service).
    if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && transport.settings.insecure)) {
      throw new RegistryError({ kind: 'blocked', host: transport.host, url: realm, anonymous, summary: 'refusing a token realm that is not https (set insecure for this host to allow it)' });
    }
    // A realm with user info would carry credentials of the server's choosing to a host of its
    // choosing; the token spec has no use for it.
    if (realm.username !== '' || realm.password !== '') {
      throw new RegistryError({ kind: 'blocked', host: transport.host, url: realm, anonymous, summary: 'refusing a token realm with user info in its URL' });
    }
    const secrets = credentialSecrets(cred);
    // The realm (often another host: auth.docker.io for registry-1.docker.io) is reached
    // through the registry host's transport, so the same trust store and SSRF guard apply.
    let method: 'GET' | 'POST' = 'GET';
    let body: string | undefined;
    const headers: Record<string, string> = { accept: 'application/json' };
    let authorization: string | undefined;
    if (cred?.identityToken) {
      method = 'POST';
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: cred.identityToken, client_id: CLIENT_ID, scope: p.scope });
      if (p.service !== undefined) form.set('service', p.service);
      body = form.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else {
      if (p.service !== undefined) realm.searchParams.set('service', p.service);
      realm.searchParams.append('scope', p.scope);
      if (!anonymous && cred) {
        if (cred.username) realm.searchParams.set('account', cred.username);
        authorization = basicAuthorization(cred);
      }
    }
    const res = await transport.send({
      method,
      url: realm,
      headers,
      ...(authorization !== undefined ? { authorization } : {}),
      ...(body !== undefined ? { body } : {}),
      deadline,
      maxBody: MAX_TOKEN_RESPONSE,
      anonymous,
      secrets,
    });
    if (res.status !== 200) {
      const err = responseError(res, { host: transport.host, method, anonymous, secrets });
      // A token endpoint that answers 404 or 400 is misconfigured or refused the request; it
      // says nothing about whether the image exists.
      if (err.kind === 'not-found' || err.kind === 'protocol') {
        throw new RegistryError({
          kind: 'protocol',
          host: transport.host,
          url: res.url,
          method,
          status: res.status,
          codes: err.codes,
          ...(err.detail !== undefined ? { detail: err.detail } : {}),
          anonymous,
          summary: 'token request rejected',
        });
      }
      throw err;
    }
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
    try {
      parsed = JSON.parse(res.body.toString('utf8')) as typeof parsed;
    } catch (cause) {
      throw new RegistryError({ kind: 'protocol', host: transport.host, url: res.url, method, status: res.status, anonymous, summary: 'token response is not JSON', cause });
    }
    // The spec names the field `token`; OAuth2-style servers send `access_token`; many send both.
    const token = typeof parsed?.token === 'string' && parsed.token !== '' ? parsed.token : typeof parsed?.access_token === 'string' ? parsed.access_token : '';
    if (token === '') {
      throw new RegistryError({ kind: 'protocol', host: transport.host, url: res.url, method, status: res.status, anonymous, summary: 'token response has no token' });
    }
    if (/[\r\n]/.test(token)) {
      throw new RegistryError({ kind: 'protocol', host: transport.host, url: res.url, method, status: res.status, anonymous, summary: 'token contains line breaks' });
    }
    return { token, expiresAt: tokenExpiry(this.#now(), parsed.expires_in, parsed.issued_at) };
  }
}
