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
import { rootCertificates } from 'node:tls';
import { Agent, request } from 'undici';
import { RegistryError, errnoOf, kindForLowLevel, kindForStatus, parseErrorBody, retryAfterMs, scrub } from './errors.js';
import { checkLiteralHost, guardedLookup, type LookupFunction } from './guard.js';

export type Headers = Record<string, string | string[] | undefined>;

export interface HostSettings {
  /** The image domain this host serves (the key of RegistryClientOptions.hosts). */
  domain: string;
  /** Upstream base URL without trailing slash, e.g. https://registry-1.docker.io */
  base: URL;
  /** Extra trusted CA certificates (PEM), added to the system store. */
  ca?: string[];
  insecure: boolean;
  allowPrivateNetwork: boolean;
  timeoutMs: number;
}

export interface TransportOptions {
  userAgent: string;
  connections: number;
  lookup?: LookupFunction;
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
}

export interface TransportResponse {
  status: number;
  headers: Headers;
  /** The body (capped); for error statuses, at most ERROR_BODY_CAP bytes of it. */
  body: Buffer;
  /** The URL that answered, after redirects. */
  url: URL;
}

const ERROR_BODY_CAP = 64 * 1024;
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

export class HostTransport {
  readonly settings: HostSettings;
  #agent: Agent;
  #userAgent: string;

  constructor(settings: HostSettings, opts: TransportOptions) {
    this.settings = settings;
    this.#userAgent = opts.userAgent;
    const ca = settings.ca && settings.ca.length > 0 ? [...rootCertificates, ...extraCaCerts(), ...settings.ca] : undefined;
    // Without allowPrivateNetwork every connection resolves through the guard, which pins
    // the socket to the addresses it checked. With it, the injected lookup (or dns.lookup)
    // is used as is.
    const lookup = settings.allowPrivateNetwork ? opts.lookup : guardedLookup(opts.lookup);
    this.#agent = new Agent({
      connections: opts.connections,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 60_000,
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.timeoutMs,
      connect: {
        timeout: settings.timeoutMs,
        rejectUnauthorized: true,
        ...(ca ? { ca } : {}),
        ...(lookup ? { lookup: lookup as never } : {}),
      },
    });
  }

  get host(): string {
    return this.settings.domain;
  }

  /** Sends one request, following redirects, and returns the (capped) response. Throws RegistryError. */
  async send(req: TransportRequest): Promise<TransportResponse> {
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
    if (!this.settings.allowPrivateNetwork) {
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
    try {
      res = await request(url, {
        dispatcher: this.#agent,
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        signal: req.deadline.signal,
        headersTimeout: this.settings.timeoutMs,
        bodyTimeout: this.settings.timeoutMs,
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
