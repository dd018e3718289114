// HTTP transport for one configured registry host: an undici Agent (a keep-alive Pool per
// origin, at most `connections` sockets each) with that host's trust store and SSRF guard,
// plus the request rules every registry call shares:
//   - a deadline and the caller's AbortSignal cut any request, in any phase;
//   - response bodies are read into memory only up to a cap (`too-large` past it);
//   - redirects are followed by hand, at most 3, only https -> https, and the Authorization
//     header goes only to the origin it was made for (blob and manifest GETs may redirect to
//     storage on another host; distribution spec "Pulling blobs": "clients SHOULD follow
//     redirects");
//   - every failure becomes a RegistryError classified from codes, never from message text.
// Auth (ping, challenge, tokens) is not done here: see client.ts.
import { readFileSync } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { createSecureContext, rootCertificates } from 'node:tls';
import { Agent, request } from 'undici';
import { RegistryError, errnoOf, kindForLowLevel, kindForStatus, parseErrorBody, retryAfterMs, scrub } from './errors.js';
import { checkLiteralHost, guardedLookup, unbracket, type LookupFunction } from './guard.js';
import { isCountedPull, requestKind, type RequestKind } from './pull-cost.js';

export type Headers = Record<string, string | string[] | undefined>;

export interface HostSettings {
  /** The image domain this host serves (the key of RegistryClientOptions.hosts). */
  domain: string;
  /** Upstream base URL without trailing slash, e.g. https://registry-1.docker.io */
  base: URL;
  /** Extra trusted CA certificates (PEM), added to the system store. */
  ca?: string[];
  insecure: boolean;
  /**
   * Lets this host's own names reach loopback / link-local addresses (the SSRF guard's
   * exemption). Any other name reached through it (a redirect to storage, a token realm on
   * another host) is still guarded: an allowed registry cannot bounce us to the metadata
   * address.
   */
  allowPrivateNetwork: boolean;
  /** Host names (lower-case, without port or brackets) the exemption covers; default: base's. */
  privateHostnames?: string[];
  timeoutMs: number;
  /** TLS client certificate and key (PEM) for registries that require mutual TLS. */
  cert?: string;
  key?: string;
  /** Set for a mirror: the domain it stands in for. */
  mirrorOf?: string;
}

export interface TransportOptions {
  userAgent: string;
  /** Sockets per origin, and requests in flight for this host at once (default 8). */
  connections: number;
  lookup?: LookupFunction;
  /** Back-off after a 429 without Retry-After or a quota window (default 60 s). */
  defaultBackoffMs?: number;
  now?: () => number;
  /** Told of every request sent: the HTTP status, or the error kind when none came (metrics). */
  observe?: RequestObserver;
}

/** One request sent to a registry (metrics): what it was, what it cost, what came back. */
export interface RequestEvent {
  registry: string;
  /** The HTTP status, or the error kind when no answer came. */
  status: string;
  method: string;
  kind: RequestKind;
  /** A pull in the registry's terms (pull-cost.ts): a manifest GET that reached the registry. */
  countedPull: boolean;
  /** The quota headers of the answer, when it had them. */
  rateLimit?: RateLimitInfo;
}

export type RequestObserver = (event: RequestEvent) => void;

/** Rate-limit headers of a response (Docker Hub: `ratelimit-limit: 100;w=21600`). */
export interface RateLimitInfo {
  limit?: number;
  remaining: number;
  /** Quota window in seconds (`w=`). */
  windowS?: number;
  /** Docker Hub's `docker-ratelimit-source` (the IP or account counted). */
  source?: string;
}

export interface TransportRequest {
  method: 'GET' | 'HEAD' | 'POST';
  url: URL;
  headers?: Record<string, string>;
  /** Sent only to `url`'s origin, and to redirects that stay on that origin. */
  authorization?: string;
  body?: string;
  deadline: Deadline;
  /** Largest successful response body accepted, in bytes. */
  maxBody: number;
  /** Whether the request carries no credential (for error reporting). */
  anonymous: boolean;
  /** Strings to scrub from server text in errors (passwords, tokens). */
  secrets?: string[];
  /** Follow redirects (default true). */
  redirect?: boolean;
  /**
   * Hand a 2xx body over as a stream (`TransportResponse.stream`) instead of reading it:
   * `maxBody` is then enforced while the caller reads (Content-Length up front, else by
   * counting), and no body timeout applies (the caller's signal bounds the transfer).
   */
  stream?: boolean;
}

export interface TransportResponse {
  status: number;
  headers: Headers;
  /** The body (capped); for error statuses, at most ERROR_BODY_CAP bytes of it. */
  body: Buffer;
  /** The URL that answered, after redirects. */
  url: URL;
  /** With `stream: true` and a 2xx status: the live body (`body` is then empty). */
  stream?: Readable;
}

const ERROR_BODY_CAP = 64 * 1024;
const DEFAULT_BACKOFF_MS = 60_000;
/** Longest back-off honoured (a Docker Hub window is 6 h). */
const MAX_BACKOFF_MS = 6 * 3_600_000;
const MAX_REDIRECTS = 3;
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);

/**
 * A deadline for one client operation (which may span ping, token and the request itself),
 * merged with the caller's AbortSignal.
 */
export class Deadline {
  readonly signal: AbortSignal;
  #controller = new AbortController();
  #timer: NodeJS.Timeout;
  #expired = false;
  #external?: AbortSignal;
  #onExternalAbort = (): void => this.#controller.abort(this.#external?.reason);

  constructor(
    readonly timeoutMs: number,
    external?: AbortSignal,
  ) {
    this.signal = this.#controller.signal;
    this.#timer = setTimeout(() => {
      this.#expired = true;
      this.#controller.abort(new DOMException(`deadline of ${timeoutMs} ms exceeded`, 'TimeoutError'));
    }, timeoutMs);
    this.#timer.unref();
    if (external) {
      this.#external = external;
      if (external.aborted) this.#onExternalAbort();
      else external.addEventListener('abort', this.#onExternalAbort, { once: true });
    }
  }

  get expired(): boolean {
    return this.#expired;
  }
  get aborted(): boolean {
    return this.signal.aborted;
  }

  /**
   * Stops the clock but keeps following the caller's signal: a streamed body outlives the
   * deadline that covered connecting and the headers. dispose() still has to be called.
   */
  release(): void {
    clearTimeout(this.#timer);
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#external?.removeEventListener('abort', this.#onExternalAbort);
  }
}

/**
 * Waits for a promise shared by several callers (a token fetch, a ping) until this caller's
 * deadline; the shared work itself is not cancelled.
 */
export function raceDeadline<T>(p: Promise<T>, deadline: Deadline, onAbort: () => RegistryError): Promise<T> {
  if (deadline.aborted) return Promise.reject(onAbort());
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(onAbort());
    deadline.signal.addEventListener('abort', abort, { once: true });
    p.then(
      (v) => {
        deadline.signal.removeEventListener('abort', abort);
        resolve(v);
      },
      (e: unknown) => {
        deadline.signal.removeEventListener('abort', abort);
        reject(e);
      },
    );
  });
}

// Node does not add NODE_EXTRA_CA_CERTS to a context given an explicit `ca` list (it replaces
// the default roots), so when a host adds CAs we rebuild "system + extra + host" ourselves.
let extraCaCache: string[] | undefined;
function extraCaCerts(): string[] {
  if (extraCaCache) return extraCaCache;
  const file = process.env['NODE_EXTRA_CA_CERTS'];
  extraCaCache = [];
  if (file) {
    try {
      extraCaCache = [readFileSync(file, 'utf8')];
    } catch {
      // Node already warned at startup when the file is unreadable.
    }
  }
  return extraCaCache;
}

/** The error a request ends with when its deadline or the caller's signal fired. */
export function deadlineError(deadline: Deadline, ctx: { host: string; url?: URL; method?: string; anonymous: boolean }, cause?: unknown): RegistryError {
  return new RegistryError({
    kind: 'timeout',
    host: ctx.host,
    ...(ctx.url ? { url: ctx.url } : {}),
    ...(ctx.method ? { method: ctx.method } : {}),
    anonymous: ctx.anonymous,
    summary: deadline.expired ? `timed out after ${deadline.timeoutMs} ms` : 'aborted by caller',
    cause,
  });
}

/** Builds the RegistryError for a non-success HTTP response. */
export function responseError(
  res: TransportResponse,
  ctx: { host: string; method: string; anonymous: boolean; secrets?: string[]; detail?: string },
): RegistryError {
  const { codes, detail } = parseErrorBody(res.body);
  const kind = kindForStatus(res.status, codes);
  const text = ctx.detail ?? detail;
  const wait = kind === 'rate-limited' || res.status === 503 ? retryAfterMs(res.headers) : undefined;
  return new RegistryError({
    kind,
    host: ctx.host,
    url: res.url,
    method: ctx.method,
    status: res.status,
    codes,
    ...(text !== undefined ? { detail: scrub(text, ctx.secrets) } : {}),
    anonymous: ctx.anonymous,
    ...(wait !== undefined ? { retryAfterMs: wait } : {}),
  });
}

export function headerValue(headers: Headers, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Reads `ratelimit-limit` / `ratelimit-remaining` (`76;w=21600`, Docker Hub; the IETF draft's
 * plain numbers; `x-ratelimit-*`). Undefined when the response carries no remaining count.
 */
export function parseRateLimit(headers: Headers): RateLimitInfo | undefined {
  const field = (name: string): { n: number; w?: number } | undefined => {
    const v = headerValue(headers, name) ?? headerValue(headers, `x-${name}`);
    const m = v === undefined ? null : /^\s*(\d+)\s*(?:;\s*w\s*=\s*(\d+))?/.exec(v);
    if (!m) return undefined;
    return m[2] !== undefined ? { n: Number(m[1]), w: Number(m[2]) } : { n: Number(m[1]) };
  };
  const remaining = field('ratelimit-remaining');
  if (!remaining) return undefined;
  const limit = field('ratelimit-limit');
  const info: RateLimitInfo = { remaining: remaining.n };
  if (limit) info.limit = limit.n;
  const w = remaining.w ?? limit?.w;
  if (w !== undefined) info.windowS = w;
  const source = headerValue(headers, 'docker-ratelimit-source');
  if (source) info.source = source;
  return info;
}

/** A counting semaphore whose waiters give up at their deadline. */
export class Semaphore {
  #free: number;
  #waiters: Array<() => void> = [];
  constructor(readonly size: number) {
    this.#free = size;
  }
  get inUse(): number {
    return this.size - this.#free;
  }
  /** Resolves with a release function; rejects with onAbort() when the deadline fires first. */
  acquire(deadline: Deadline, onAbort: () => RegistryError): Promise<() => void> {
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      if (next) next();
      else this.#free++;
    };
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve(release);
    }
    if (deadline.aborted) return Promise.reject(onAbort());
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        deadline.signal.removeEventListener('abort', abort);
        resolve(release);
      };
      const abort = (): void => {
        const i = this.#waiters.indexOf(grant);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(onAbort());
      };
      this.#waiters.push(grant);
      deadline.signal.addEventListener('abort', abort, { once: true });
    });
  }
}

export class HostTransport {
  readonly settings: HostSettings;
  #agent: Agent;
  #userAgent: string;
  #slots: Semaphore;
  #exempt: Set<string>;
  #now: () => number;
  #defaultBackoffMs: number;
  #backoffUntil = 0;
  #backoffCause: RegistryError | undefined;
  #observe: RequestObserver | undefined;
  /** The quota headers of the last answer that had them (any request: HEADs are free). */
  lastRateLimit: (RateLimitInfo & { at: number }) | undefined;

  constructor(settings: HostSettings, opts: TransportOptions) {
    this.settings = settings;
    this.#observe = opts.observe;
    this.#userAgent = opts.userAgent;
    this.#slots = new Semaphore(Math.max(1, opts.connections));
    this.#now = opts.now ?? Date.now;
    this.#defaultBackoffMs = opts.defaultBackoffMs ?? DEFAULT_BACKOFF_MS;
    this.#exempt = new Set(
      settings.allowPrivateNetwork ? (settings.privateHostnames ?? [unbracket(settings.base.hostname)]).map((h) => unbracket(h).toLowerCase()) : [],
    );
    const ca = settings.ca && settings.ca.length > 0 ? [...rootCertificates, ...extraCaCerts(), ...settings.ca] : undefined;
    // One secure context per host, built once: passing `ca` to every connect parses the whole
    // trust store (~150 certificates, ~80 ms of blocked event loop) for each new connection.
    // Always one context per host, even with the default trust store: tls.connect would
    // otherwise build (and leave to the GC) a native OpenSSL context for every connection.
    const secureContext = createSecureContext({
      ...(ca ? { ca } : {}),
      ...(settings.cert !== undefined && settings.key !== undefined ? { cert: settings.cert, key: settings.key } : {}),
    });
    // Every connection resolves through the guard, which pins the socket to the addresses it
    // checked; names this host may reach privately (allowPrivateNetwork) skip the check.
    const lookup = guardedLookup(opts.lookup, (hostname) => this.#exempt.has(hostname.toLowerCase()));
    this.#agent = new Agent({
      connections: opts.connections,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 60_000,
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.timeoutMs,
      connect: {
        timeout: settings.timeoutMs,
        rejectUnauthorized: true,
        ...(secureContext ? { secureContext } : {}),
        ...(lookup ? { lookup: lookup as never } : {}),
      },
    });
  }

  get host(): string {
    return this.settings.domain;
  }

  /** Requests in flight right now (tests of the concurrency cap). */
  get inFlight(): number {
    return this.#slots.inUse;
  }

  /** Epoch ms until which this host is backed off after a 429 (0: not backed off). */
  get backoffUntil(): number {
    return this.#backoffUntil > this.#now() ? this.#backoffUntil : 0;
  }

  /**
   * Sends one request, following redirects, and returns the (capped) response. Throws
   * RegistryError. At most `connections` requests per host are in flight (the others wait
   * for a slot within their deadline); while the host is backed off after a 429 nothing is
   * sent and the call fails as rate-limited at once.
   */
  async send(req: TransportRequest): Promise<TransportResponse> {
    this.#checkBackoff(req);
    const release = await this.#slots.acquire(req.deadline, () =>
      deadlineError(req.deadline, { host: this.host, url: req.url, method: req.method, anonymous: req.anonymous }),
    );
    let handedOff = false;
    try {
      this.#checkBackoff(req);
      let res: TransportResponse;
      const kind = requestKind(req.url);
      try {
        res = await this.#send(req);
      } catch (err) {
        // No answer: counted only if the request may have reached the registry (it was sent).
        const sent = !(err instanceof RegistryError) || (err.kind !== 'blocked' && err.kind !== 'network' && err.kind !== 'tls');
        this.#observe?.({ registry: this.host, status: err instanceof RegistryError ? err.kind : 'error', method: req.method, kind, countedPull: sent && isCountedPull(req.method, kind) });
        throw err;
      }
      const rateLimit = parseRateLimit(res.headers);
      if (rateLimit) this.lastRateLimit = { ...rateLimit, at: this.#now() };
      this.#observe?.({
        registry: this.host,
        status: String(res.status),
        method: req.method,
        kind,
        countedPull: res.status !== 429 && isCountedPull(req.method, kind),
        ...(rateLimit ? { rateLimit } : {}),
      });
      if (res.status === 429) this.#startBackoff(res, req);
      if (res.stream) {
        // The slot is held until the streamed body is done.
        res.stream.once('close', release);
        handedOff = true;
      }
      return res;
    } finally {
      if (!handedOff) release();
    }
  }

  #checkBackoff(req: TransportRequest): void {
    const wait = this.#backoffUntil - this.#now();
    if (wait <= 0) return;
    const cause = this.#backoffCause;
    throw new RegistryError({
      kind: 'rate-limited',
      host: this.host,
      url: req.url,
      method: req.method,
      ...(cause?.status !== undefined ? { status: cause.status } : {}),
      codes: cause?.codes ?? [],
      ...(cause?.detail !== undefined ? { detail: cause.detail } : {}),
      anonymous: req.anonymous,
      retryAfterMs: wait,
      summary: `rate limited; backing off until ${new Date(this.#backoffUntil).toISOString()} (no request sent)`,
    });
  }

  #startBackoff(res: TransportResponse, req: TransportRequest): void {
    const err = responseError(res, { host: this.host, method: req.method, anonymous: req.anonymous, ...(req.secrets ? { secrets: req.secrets } : {}) });
    const wait = Math.min(MAX_BACKOFF_MS, err.retryAfterMs ?? this.#defaultBackoffMs);
    const until = this.#now() + wait;
    if (until > this.#backoffUntil) {
      this.#backoffUntil = until;
      this.#backoffCause = err;
    }
  }

  async #send(req: TransportRequest): Promise<TransportResponse> {
    let url = req.url;
    const authOrigin = req.url.origin;
    let method = req.method;
    let body = req.body;
    for (let hop = 0; ; hop++) {
      this.#checkDestination(url, req);
      const sendAuth = req.authorization !== undefined && url.origin === authOrigin;
      const res = await this.#once(url, method, body, sendAuth ? req.authorization : undefined, req);
      const location = headerValue(res.headers, 'location');
      if (req.redirect === false || !REDIRECT_STATUS.has(res.status) || location === undefined) return res;
      if (hop >= MAX_REDIRECTS) {
        throw new RegistryError({ kind: 'protocol', host: this.host, url, method, status: res.status, anonymous: req.anonymous, summary: `more than ${MAX_REDIRECTS} redirects` });
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch (cause) {
        throw new RegistryError({ kind: 'protocol', host: this.host, url, method, status: res.status, anonymous: req.anonymous, summary: 'invalid redirect location', cause });
      }
      // Only https -> https: a downgrade would expose the request (and, same-origin, its
      // credentials) to the network. Plain-http hosts configured insecure may redirect
      // within their own origin.
      const sameOriginHttp = url.protocol === 'http:' && next.origin === url.origin;
      if (!(url.protocol === 'https:' && next.protocol === 'https:') && !sameOriginHttp) {
        throw new RegistryError({ kind: 'protocol', host: this.host, url, method, status: res.status, anonymous: req.anonymous, summary: `refusing redirect to ${next.protocol}//${next.host}` });
      }
      // 303 See Other turns the next request into a GET without body (RFC 9110 §15.4.4).
      if (res.status === 303 && method !== 'HEAD') {
        method = 'GET';
        body = undefined;
      }
      url = next;
    }
  }

  #checkDestination(url: URL, req: TransportRequest): void {
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.settings.insecure)) {
      throw new RegistryError({
        kind: 'blocked',
        host: this.host,
        url,
        method: req.method,
        anonymous: req.anonymous,
        summary: `refusing ${url.protocol.replace(':', '')} URL (plain http needs insecure: true for this host)`,
      });
    }
    if (!this.#exempt.has(unbracket(url.hostname).toLowerCase())) {
      const refusal = checkLiteralHost(url.hostname);
      if (refusal) {
        throw new RegistryError({
          kind: 'blocked',
          host: this.host,
          url,
          method: req.method,
          anonymous: req.anonymous,
          summary: `${refusal.message} (set allowPrivateNetwork for this host to permit it)`,
          errno: refusal.code,
          cause: refusal,
        });
      }
    }
  }

  async #once(url: URL, method: string, body: string | undefined, authorization: string | undefined, req: TransportRequest): Promise<TransportResponse> {
    const ctx = { host: this.host, url, method, anonymous: req.anonymous };
    if (req.deadline.aborted) throw deadlineError(req.deadline, ctx);
    const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...req.headers };
    if (authorization !== undefined) headers['authorization'] = authorization;
    let res: Awaited<ReturnType<typeof request>>;
    const streaming = req.stream === true;
    try {
      res = await request(url, {
        dispatcher: this.#agent,
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        signal: req.deadline.signal,
        headersTimeout: this.settings.timeoutMs,
        // A streamed body is read at the caller's pace (back-pressure pauses the socket), so an
        // idle timer would cut a slow consumer; the caller's signal bounds it instead.
        bodyTimeout: streaming ? 0 : this.settings.timeoutMs,
      });
    } catch (err) {
      throw this.#lowLevel(err, req, ctx);
    }
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    const cap = ok ? req.maxBody : ERROR_BODY_CAP;
    const declared = Number(headerValue(res.headers, 'content-length') ?? NaN);
    if (ok && method !== 'HEAD' && Number.isFinite(declared) && declared > cap) {
      res.body.destroy();
      throw new RegistryError({ kind: 'too-large', host: this.host, url, method, status: res.statusCode, anonymous: req.anonymous, summary: `response of ${declared} bytes exceeds the ${cap} byte limit` });
    }
    if (ok && streaming && method !== 'HEAD') {
      return { status: res.statusCode, headers: res.headers as Headers, body: Buffer.alloc(0), url, stream: this.#capped(res.body, cap, req, ctx) };
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body) {
        const buf = chunk as Buffer;
        if (size + buf.length > cap) {
          res.body.destroy();
          if (ok) {
            throw new RegistryError({ kind: 'too-large', host: this.host, url, method, status: res.statusCode, anonymous: req.anonymous, summary: `response exceeds the ${cap} byte limit` });
          }
          chunks.push(buf.subarray(0, cap - size));
          size = cap;
          break;
        }
        chunks.push(buf);
        size += buf.length;
      }
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      throw this.#lowLevel(err, req, ctx);
    }
    return { status: res.statusCode, headers: res.headers as Headers, body: Buffer.concat(chunks, size), url };
  }

  /**
   * The body as a stream that fails with `too-large` once more than `cap` bytes came through,
   * and with a RegistryError (never a raw socket error) when the transfer breaks. Destroying
   * the returned stream destroys the socket's body.
   */
  #capped(source: Readable, cap: number, req: TransportRequest, ctx: { host: string; url: URL; method: string; anonymous: boolean }): Readable {
    let size = 0;
    const host = this.host;
    const out = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        if (size > cap) {
          cb(new RegistryError({ kind: 'too-large', host, url: ctx.url, method: ctx.method, status: 200, anonymous: ctx.anonymous, summary: `response exceeds the ${cap} byte limit` }));
          return;
        }
        cb(null, chunk);
      },
    });
    // pipe() does not forward errors: map them here, so the reader sees a RegistryError.
    source.on('error', (err) => out.destroy(this.#lowLevel(err, req, ctx)));
    out.on('close', () => {
      if (!source.destroyed) source.destroy();
    });
    source.pipe(out);
    return out;
  }

  #lowLevel(err: unknown, req: TransportRequest, ctx: { host: string; url: URL; method: string; anonymous: boolean }): RegistryError {
    if (err instanceof RegistryError) return err;
    if (req.deadline.aborted) return deadlineError(req.deadline, ctx, err);
    const errno = errnoOf(err);
    const kind = kindForLowLevel(errno);
    const raw = err instanceof Error ? err.message : String(err);
    return new RegistryError({
      kind,
      host: this.host,
      url: ctx.url,
      method: ctx.method,
      anonymous: ctx.anonymous,
      ...(errno !== undefined ? { errno } : {}),
      // Socket-level messages come from Node/OpenSSL, not the server, but are scrubbed the same way.
      detail: scrub(raw, req.secrets),
      cause: err,
    });
  }

  close(): Promise<void> {
    return this.#agent.close();
  }

  destroy(): Promise<void> {
    return this.#agent.destroy();
  }
}
