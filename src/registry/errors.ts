// RegistryError: one error type for everything the registry client can fail with, carrying
// data (kind, HTTP status, the registry's error codes, Retry-After) instead of prose, so the
// layers above decide from fields and never from message text. Modelled on
// go-containerregistry's transport.Error (status + []Diagnostic + Temporary()).
//
// Error bodies follow the distribution spec, "Error Codes":
//   {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": ...}]}
// Token servers answer in their own shapes: {"details": "..."} (Docker Hub) or OAuth2's
// {"error": "...", "error_description": "..."}; both are read for `detail`.
//
// Secrets: messages and JSON are built only from the method, a redacted URL, status, codes and
// the server's own text, with any credential the request carried scrubbed from that text.
// Request headers are never stored, so an Authorization header cannot leak through here.

export type RegistryErrorKind =
  | 'not-found'
  | 'unauthorized'
  | 'denied'
  | 'rate-limited'
  | 'server'
  | 'network'
  | 'timeout'
  | 'tls'
  | 'blocked'
  | 'protocol'
  | 'too-large';

export interface RegistryErrorInit {
  kind: RegistryErrorKind;
  /** The image domain or upstream host the request was for. */
  host: string;
  /** The request URL; redacted here, whatever is passed. */
  url?: string | URL;
  method?: string;
  status?: number;
  codes?: string[];
  detail?: string;
  /** True when no credential was used (anonymous request or anonymous token). */
  anonymous: boolean;
  retryAfterMs?: number;
  /** Low-level error code (ECONNREFUSED, CERT_HAS_EXPIRED, UND_ERR_HEADERS_TIMEOUT...). */
  errno?: string;
  /** Overrides the computed message summary. */
  summary?: string;
  cause?: unknown;
}

const SUMMARY: Record<RegistryErrorKind, string> = {
  'not-found': 'not found',
  unauthorized: 'authentication required or rejected',
  denied: 'access denied',
  'rate-limited': 'rate limited',
  server: 'registry server error',
  network: 'network error',
  timeout: 'timed out',
  tls: 'TLS error',
  blocked: 'connection refused by policy',
  protocol: 'unexpected response',
  'too-large': 'response too large',
};

// Registry error codes that mean "try again later" (distribution spec error codes;
// go-containerregistry transport.temporaryErrorCodes).
const TEMPORARY_CODES = new Set(['TOOMANYREQUESTS', 'UNAVAILABLE', 'UNKNOWN', 'BLOB_UPLOAD_INVALID']);
// Statuses whose retry may succeed: 408 Request Timeout, 429, and 5xx except 501/505, which
// say the server will never do this.
const TEMPORARY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
// Socket errors that persist on retry: the name does not exist.
const PERMANENT_ERRNO = new Set(['ENOTFOUND']);

/** Whether retrying the same request later may succeed, computed from data only. */
export function isTemporary(kind: RegistryErrorKind, status: number | undefined, codes: readonly string[], errno?: string): boolean {
  switch (kind) {
    case 'timeout':
    case 'rate-limited':
      return true;
    case 'network':
      return errno === undefined || !PERMANENT_ERRNO.has(errno);
    case 'server':
      return status === undefined || TEMPORARY_STATUS.has(status);
    case 'blocked':
    case 'tls':
    case 'too-large':
      return false;
    default:
      return (status !== undefined && TEMPORARY_STATUS.has(status)) || codes.some((c) => TEMPORARY_CODES.has(c));
  }
}

// Query parameters that are safe to show: token scopes, services and pagination. Everything
// else (pre-signed storage URLs' X-Amz-Signature, sig=, token=...) is replaced.
const SAFE_QUERY = new Set(['service', 'scope', 'n', 'last', 'account', 'digest', 'mount', 'from', 'ns']);

/** Removes userinfo and unknown query values from a URL for messages and logs. */
export function redactUrl(input: string | URL | undefined): string {
  if (input === undefined) return '';
  let u: URL;
  try {
    u = new URL(String(input));
  } catch {
    return '<invalid url>';
  }
  u.username = '';
  u.password = '';
  u.hash = '';
  const params = new URLSearchParams();
  for (const [k, v] of u.searchParams) params.append(k, SAFE_QUERY.has(k.toLowerCase()) ? v : 'REDACTED');
  u.search = params.toString();
  return u.toString();
}

const MAX_DETAIL = 512;

/** Removes secrets and control characters from server-provided text and bounds its length. */
export function scrub(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('<redacted>');
  // eslint-disable-next-line no-control-regex
  out = out.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return out.length > MAX_DETAIL ? `${out.slice(0, MAX_DETAIL)}…` : out;
}

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly kind: RegistryErrorKind;
  readonly status?: number;
  readonly codes: string[];
  readonly detail?: string;
  readonly host: string;
  readonly url: string;
  readonly method?: string;
  readonly temporary: boolean;
  readonly anonymous: boolean;
  readonly retryAfterMs?: number;
  readonly errno?: string;

  constructor(init: RegistryErrorInit) {
    const url = redactUrl(init.url);
    const codes = [...(init.codes ?? [])];
    const parts: string[] = [];
    if (init.status !== undefined) parts.push(String(init.status));
    if (codes.length > 0) parts.push(codes.join(','));
    if (init.errno !== undefined) parts.push(init.errno);
    const why = parts.length > 0 ? ` (${parts.join(' ')})` : '';
    const detail = init.detail !== undefined && init.detail !== '' ? `: ${init.detail}` : '';
    const where = url !== '' ? ` [${init.method ? `${init.method} ` : ''}${url}]` : '';
    super(`registry ${init.host}: ${init.summary ?? SUMMARY[init.kind]}${why}${detail}${where}`, init.cause !== undefined ? { cause: init.cause } : undefined);
    this.kind = init.kind;
    if (init.status !== undefined) this.status = init.status;
    this.codes = codes;
    if (init.detail !== undefined && init.detail !== '') this.detail = init.detail;
    this.host = init.host;
    this.url = url;
    if (init.method !== undefined) this.method = init.method;
    this.anonymous = init.anonymous;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
    if (init.errno !== undefined) this.errno = init.errno;
    this.temporary = isTemporary(init.kind, init.status, codes, init.errno);
  }

  /** Structured form for logs and admission messages. The low-level cause is summarised, not embedded. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      kind: this.kind,
      message: this.message,
      host: this.host,
      url: this.url,
      method: this.method,
      status: this.status,
      codes: this.codes,
      detail: this.detail,
      temporary: this.temporary,
      anonymous: this.anonymous,
      retryAfterMs: this.retryAfterMs,
      errno: this.errno,
    };
  }
}

/** Shape of the error bodies we understand. */
interface ErrorBody {
  errors?: Array<{ code?: unknown; message?: unknown; detail?: unknown }>;
  details?: unknown;
  error?: unknown;
  error_description?: unknown;
  message?: unknown;
}

/** Reads registry error codes and the server's message text from an error response body. */
export function parseErrorBody(body: Buffer | undefined): { codes: string[]; detail?: string } {
  if (!body || body.length === 0) return { codes: [] };
  let parsed: ErrorBody;
  try {
    parsed = JSON.parse(body.toString('utf8')) as ErrorBody;
  } catch {
    return { codes: [] };
  }
  if (parsed === null || typeof parsed !== 'object') return { codes: [] };
  const codes: string[] = [];
  const messages: string[] = [];
  if (Array.isArray(parsed.errors)) {
    for (const e of parsed.errors) {
      if (e === null || typeof e !== 'object') continue;
      if (typeof e.code === 'string' && /^[A-Z_]{1,64}$/.test(e.code)) codes.push(e.code);
      if (typeof e.message === 'string' && e.message !== '') messages.push(e.message);
    }
  }
  for (const v of [parsed.details, parsed.error_description, parsed.message]) {
    if (typeof v === 'string' && v !== '') messages.push(v);
  }
  if (messages.length === 0 && typeof parsed.error === 'string') messages.push(parsed.error);
  const detail = [...new Set(messages)].join('; ');
  return detail !== '' ? { codes, detail } : { codes };
}

type HeaderValue = string | string[] | undefined;
function header(headers: Record<string, HeaderValue>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Milliseconds until a rate-limited request may be retried, from `Retry-After` (RFC 9110
 * §10.2.3: seconds or an HTTP date), or the RateLimit header fields (IETF httpapi draft
 * `ratelimit-reset`: seconds, or an epoch timestamp in the GitHub style), or, when the quota is
 * spent (`ratelimit-remaining: 0;w=21600`, as Docker Hub sends), the quota window.
 */
export function retryAfterMs(headers: Record<string, HeaderValue>, now: number = Date.now()): number | undefined {
  const ra = header(headers, 'retry-after')?.trim();
  if (ra !== undefined && ra !== '') {
    if (/^\d+$/.test(ra)) return Number(ra) * 1000;
    const at = Date.parse(ra);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const reset = header(headers, 'ratelimit-reset') ?? header(headers, 'x-ratelimit-reset');
  if (reset !== undefined && /^\d+/.test(reset.trim())) {
    const n = parseInt(reset.trim(), 10);
    // Values this large are absolute epoch seconds, not a delay.
    return n > 1_000_000_000 ? Math.max(0, n * 1000 - now) : n * 1000;
  }
  const remaining = header(headers, 'ratelimit-remaining') ?? header(headers, 'x-ratelimit-remaining');
  if (remaining !== undefined) {
    const m = /^\s*(\d+)\s*(?:;\s*w\s*=\s*(\d+))?/.exec(remaining);
    if (m && Number(m[1]) === 0 && m[2] !== undefined) return Number(m[2]) * 1000;
  }
  return undefined;
}

/** Maps an HTTP error status (and the registry's codes) to a kind. */
export function kindForStatus(status: number, codes: readonly string[]): RegistryErrorKind {
  if (status === 429 || codes.includes('TOOMANYREQUESTS')) return 'rate-limited';
  if (status === 404) return 'not-found';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'denied';
  if (status >= 500) return 'server';
  return 'protocol';
}

// Node/OpenSSL certificate verification codes (tls.TLSSocket#authorizationError and
// ERR_TLS_* / ERR_SSL_* error codes).
const TLS_ERRNO = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'INVALID_CA',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_TLS_HANDSHAKE_TIMEOUT',
  'EPROTO',
]);
const TIMEOUT_ERRNO = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT', 'ABORT_ERR', 'UND_ERR_ABORTED']);
const NETWORK_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NODATA',
  'EAI_NONAME',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);

/** Finds the first `code` along an error's cause chain (undici wraps socket errors). */
export function errnoOf(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 5 && e !== null && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') {
      // Prefer a more specific code deeper in the chain for undici's generic socket error.
      const deeper = (e as { cause?: unknown }).cause;
      if (code === 'UND_ERR_SOCKET' && deeper) return errnoOf(deeper) ?? code;
      return code;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Classifies a low-level (socket, TLS, DNS, undici) error by its code, never its message. */
export function kindForLowLevel(errno: string | undefined): RegistryErrorKind {
  if (errno === undefined) return 'network';
  if (errno === 'EBLOCKED') return 'blocked';
  if (TLS_ERRNO.has(errno) || errno.startsWith('ERR_SSL_') || errno.startsWith('ERR_TLS_')) return 'tls';
  if (TIMEOUT_ERRNO.has(errno)) return 'timeout';
  if (NETWORK_ERRNO.has(errno)) return 'network';
  return 'network';
}
