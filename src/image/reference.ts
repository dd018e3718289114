// Image reference parsing, a faithful port of what the kubelet does with
// `container.image` before it asks the runtime for anything:
//
//   kubelet images/image_manager.go  applyDefaultImageTag -> dockerref.ParseNormalizedNamed
//   github.com/distribution/reference normalize.go  ParseNormalizedNamed, splitDockerDomain, familiarizeName
//   github.com/distribution/reference reference.go  Parse, the error values
//   github.com/distribution/reference regexp.go     the grammar
//   github.com/opencontainers/go-digest v1.0.0 (the version vendored by Kubernetes)
//                                      digest.go Validate, algorithm.go Validate
//
// The error texts are byte-for-byte those of the Go packages so that a user
// sees at admission the same words the kubelet would later put in the event.
// This module deliberately imports nothing from the project.

/** Docker Hub's canonical domain (normalize.go `defaultDomain`). */
const DEFAULT_DOMAIN = 'docker.io';
/** The legacy "Docker Index" domain, rewritten to docker.io (normalize.go `legacyDefaultDomain`). */
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
/** The host that actually serves Docker Hub's v2 API (comment on `defaultDomain` in normalize.go). */
const DOCKER_HUB_REGISTRY_HOST = 'registry-1.docker.io';
/** Namespace of the Docker Official Images (normalize.go `officialRepoPrefix`). */
const OFFICIAL_REPO_PREFIX = 'library/';
/** normalize.go `defaultTag`; kubelet appends the same literal in applyDefaultImageTag. */
const DEFAULT_TAG = 'latest';
/** reference.go `RepositoryNameTotalLengthMax`; compared against the path only, not domain + path. */
const REPOSITORY_NAME_TOTAL_LENGTH_MAX = 255;
/** regexp.go `localhost`: always a domain when it is the first of several components. */
const LOCALHOST = 'localhost';

// ---------------------------------------------------------------------------
// Grammar (regexp.go). Go's RE2 uses leftmost-first submatch semantics, the
// same priority order as a JavaScript backtracking engine, so the captures
// below are those Go would produce. `\w` is ASCII-only in both; Go's
// `[[:xdigit:]]` is written out as `[0-9A-Fa-f]`.
// ---------------------------------------------------------------------------

const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const optionalPort = '(?::[0-9]+)?';
const tagPat = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}';
const identifierPat = '([a-f0-9]{64})';
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = host + optionalPort;
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;

/** regexp.go `referencePat`: captures name, tag, digest. */
const REFERENCE_RE = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
/** regexp.go `anchoredNamePat`: captures domain and path of a name. */
const ANCHORED_NAME_RE = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
/** regexp.go `anchoredIdentifierRegexp`: a bare image ID. */
const ANCHORED_IDENTIFIER_RE = new RegExp(`^${identifierPat}$`);

// ---------------------------------------------------------------------------
// Error texts.
// ---------------------------------------------------------------------------

/** reference.go ErrReferenceInvalidFormat. */
const ERR_REFERENCE_INVALID_FORMAT = 'invalid reference format';
/** reference.go ErrNameContainsUppercase (Parse's own check, without the "invalid reference format:" prefix). */
const ERR_NAME_CONTAINS_UPPERCASE = 'repository name must be lowercase';
/** reference.go ErrNameEmpty. */
const ERR_NAME_EMPTY = 'repository name must have at least one component';
/** reference.go ErrNameTooLong. */
const ERR_NAME_TOO_LONG = `repository name must not be more than ${REPOSITORY_NAME_TOTAL_LENGTH_MAX} characters`;
/** go-digest digest.go ErrDigestInvalidFormat. */
const ERR_DIGEST_INVALID_FORMAT = 'invalid checksum digest format';
/** go-digest v1.0.0 digest.go ErrDigestInvalidLength (later go-digest folds it into ErrDigestInvalidFormat). */
const ERR_DIGEST_INVALID_LENGTH = 'invalid checksum digest length';
/** go-digest digest.go ErrDigestUnsupported. */
const ERR_DIGEST_UNSUPPORTED = 'unsupported digest algorithm';
/**
 * Not a distribution error: the API server refuses an empty image on a Pod
 * (`spec.containers[0].image: Required value`) but a workload template may
 * still carry one, and the kubelet can never pull it.
 */
export const REASON_IMAGE_EMPTY = 'image is empty';

/** The distribution / go-digest error text, e.g. 'invalid reference format'. */
export type ReferenceErrorReason = string;

export interface ImageReference {
  /** Exactly what the user wrote (untrimmed). */
  original: string;
  /**
   * Registry domain: 'docker.io', 'quay.io', 'localhost:5000', '[::1]:5000'.
   * Empty in one corner that distribution allows: a first component with a
   * '.' or ':' that is not a valid host but is a valid path component
   * ('a_b.c/d'); Parse then keeps the whole name as the path.
   */
  domain: string;
  /** Repository path inside the registry: 'library/nginx'. */
  path: string;
  /** The written tag, or 'latest' when defaulted (only when there is no digest). */
  tag?: string;
  /** 'sha256:<hex>' when written. */
  digest?: string;
  /** True when ':latest' was added. */
  tagDefaulted: boolean;
  /** domain + '/' + path (just path when domain is empty), e.g. 'docker.io/library/nginx'. */
  name: string;
  /** name + (':' + tag)? + ('@' + digest)?, e.g. 'docker.io/library/nginx:1.14.2'. */
  normalized: string;
  /** What the registry is asked for: the digest if any, else the tag. */
  reference: string;
  /** The short form docker prints: 'nginx:1.14.2', 'quay.io/a/b:1' (includes a defaulted ':latest'). */
  familiar: string;
}

export class InvalidReferenceError extends Error {
  readonly code = 'INVALID_REFERENCE';

  /**
   * @param input  the image string as written
   * @param reason the distribution/go-digest error text
   * The message is the kubelet's event text (image_manager.go EnsureImageExists
   * wrapping applyDefaultImageTag), reason InvalidImageName.
   */
  constructor(
    readonly input: string,
    readonly reason: ReferenceErrorReason,
  ) {
    super(`Failed to apply default image tag ${goQuote(input)}: couldn't parse image reference ${goQuote(input)}: ${reason}`);
    this.name = 'InvalidReferenceError';
  }
}

/**
 * Parses an image reference the way the kubelet does (ParseNormalizedNamed,
 * then ':latest' when neither tag nor digest was written).
 * @throws InvalidReferenceError with distribution's reason text
 */
export function parseReference(input: string): ImageReference {
  if (input === '') throw new InvalidReferenceError(input, REASON_IMAGE_EMPTY);
  const parsed = parseNormalizedNamed(input);
  if (typeof parsed === 'string') throw new InvalidReferenceError(input, parsed);

  const { domain, path, digest } = parsed;
  // kubelet applyDefaultImageTag: only when the reference is neither Tagged nor Digested.
  const tagDefaulted = parsed.tag === undefined && digest === undefined;
  const tag = tagDefaulted ? DEFAULT_TAG : parsed.tag;

  const name = domain === '' ? path : `${domain}/${path}`;
  const suffix = (tag !== undefined ? `:${tag}` : '') + (digest !== undefined ? `@${digest}` : '');
  const result: ImageReference = {
    original: input,
    domain,
    path,
    tagDefaulted,
    name,
    normalized: name + suffix,
    // ParseDockerRef: a reference with both tag and digest is pulled by digest.
    reference: digest ?? (tag as string),
    familiar: familiarName(domain, path) + suffix,
  };
  if (tag !== undefined) result.tag = tag;
  if (digest !== undefined) result.digest = digest;
  return result;
}

/**
 * The host to contact for a domain: Docker Hub's API lives on
 * registry-1.docker.io (normalize.go comment on defaultDomain; containerd's
 * docker resolver makes the same substitution).
 */
export function registryEndpointHost(domain: string): string {
  return domain === DEFAULT_DOMAIN || domain === LEGACY_DEFAULT_DOMAIN ? DOCKER_HUB_REGISTRY_HOST : domain;
}

/**
 * True for the names under which Docker Hub's registry is reached. A parsed
 * reference only ever carries 'docker.io' for Hub images ('index.docker.io'
 * is rewritten); 'registry-1.docker.io' stays its own domain in the parse
 * (and in credential matching) but is served by Hub, rate limits included.
 */
export function isDockerHub(domain: string): boolean {
  return domain === DEFAULT_DOMAIN || domain === LEGACY_DEFAULT_DOMAIN || domain === DOCKER_HUB_REGISTRY_HOST;
}

/** A Docker Official Image: docker.io/library/<one component> (familiarizeName's rule). */
export function isOfficialLibrary(ref: ImageReference): boolean {
  return (
    ref.domain === DEFAULT_DOMAIN && ref.path.startsWith(OFFICIAL_REPO_PREFIX) && !ref.path.slice(OFFICIAL_REPO_PREFIX.length).includes('/')
  );
}

// ---------------------------------------------------------------------------
// The port.
// ---------------------------------------------------------------------------

interface NamedParts {
  domain: string;
  path: string;
  tag?: string;
  digest?: string;
}

/** normalize.go ParseNormalizedNamed. Returns the parts, or the error text. */
function parseNormalizedNamed(s: string): NamedParts | ReferenceErrorReason {
  if (ANCHORED_IDENTIFIER_RE.test(s)) {
    return `invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`;
  }
  const [domain, remainder] = splitDockerDomain(s);
  const tagSep = remainder.indexOf(':');
  const remote = tagSep > -1 ? remainder.slice(0, tagSep) : remainder;
  if (remote.toLowerCase() !== remote) {
    // distribution/reference >= v0.5 names the offending remote; the older
    // docker/distribution text was "...: repository name must be lowercase".
    return `invalid reference format: repository name (${remote}) must be lowercase`;
  }
  // Parse never yields a digest-only reference here: the name is non-empty.
  return parse(`${domain}/${remainder}`);
}

/** normalize.go splitDockerDomain. */
function splitDockerDomain(name: string): [domain: string, remoteName: string] {
  const slash = name.indexOf('/');
  if (slash === -1) {
    // A single element is always a Docker Hub official image, even
    // "localhost" or "example.com" (the FIXME in normalize.go).
    return [DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name];
  }
  const maybeDomain = name.slice(0, slash);
  const maybeRemoteName = name.slice(slash + 1);
  let domain: string;
  let remote: string;
  if (maybeDomain === LOCALHOST) {
    [domain, remote] = [maybeDomain, maybeRemoteName];
  } else if (maybeDomain === LEGACY_DEFAULT_DOMAIN) {
    [domain, remote] = [DEFAULT_DOMAIN, maybeRemoteName];
  } else if (maybeDomain.includes('.') || maybeDomain.includes(':')) {
    [domain, remote] = [maybeDomain, maybeRemoteName];
  } else if (maybeDomain.toLowerCase() !== maybeDomain) {
    // Upper-case namespaces are not allowed, so distribution takes it for a host.
    [domain, remote] = [maybeDomain, maybeRemoteName];
  } else {
    [domain, remote] = [DEFAULT_DOMAIN, name];
  }
  if (domain === DEFAULT_DOMAIN && !remote.includes('/')) remote = OFFICIAL_REPO_PREFIX + remote;
  return [domain, remote];
}

/** reference.go Parse (minus the digest-only case, unreachable from ParseNormalizedNamed). */
function parse(s: string): NamedParts | ReferenceErrorReason {
  const m = REFERENCE_RE.exec(s);
  if (m === null) {
    if (s === '') return ERR_NAME_EMPTY;
    const lower = s.toLowerCase();
    if (lower !== s && REFERENCE_RE.test(lower)) return ERR_NAME_CONTAINS_UPPERCASE;
    return ERR_REFERENCE_INVALID_FORMAT;
  }
  const fullName = m[1] as string;
  const nameMatch = ANCHORED_NAME_RE.exec(fullName);
  // Go's FindStringSubmatch gives "" for a group that did not take part.
  const domain = nameMatch?.[1] ?? '';
  const path = nameMatch?.[2] ?? fullName;
  if (path.length > REPOSITORY_NAME_TOTAL_LENGTH_MAX) return ERR_NAME_TOO_LONG;

  const parts: NamedParts = { domain, path };
  if (m[2] !== undefined && m[2] !== '') parts.tag = m[2];
  if (m[3] !== undefined && m[3] !== '') {
    const err = validateDigest(m[3]);
    if (err !== undefined) return err;
    parts.digest = m[3];
  }
  return parts;
}

/** Hex length of each algorithm go-digest registers (algorithm.go, hash Size() * 2). */
const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };
/** go-digest digest.go DigestRegexpAnchored. */
const GO_DIGEST_ANCHORED_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
/** go-digest algorithm.go anchoredEncodedRegexps: lower-case hex only. */
const LOWER_HEX_RE = /^[a-f0-9]+$/;

/** go-digest v1.0.0 Digest.Validate. Returns the error text, or undefined when valid. */
function validateDigest(d: string): ReferenceErrorReason | undefined {
  const i = d.indexOf(':');
  if (i <= 0 || i + 1 === d.length) return ERR_DIGEST_INVALID_FORMAT;
  const algorithm = d.slice(0, i);
  const encoded = d.slice(i + 1);
  const size = Object.hasOwn(DIGEST_HEX_LENGTH, algorithm) ? DIGEST_HEX_LENGTH[algorithm] : undefined;
  if (size === undefined) {
    return GO_DIGEST_ANCHORED_RE.test(d) ? ERR_DIGEST_UNSUPPORTED : ERR_DIGEST_INVALID_FORMAT;
  }
  if (encoded.length !== size) return ERR_DIGEST_INVALID_LENGTH;
  return LOWER_HEX_RE.test(encoded) ? undefined : ERR_DIGEST_INVALID_FORMAT;
}

/** normalize.go familiarizeName: drop 'docker.io/' and a one-level 'library/'. */
function familiarName(domain: string, path: string): string {
  if (domain !== DEFAULT_DOMAIN) return domain === '' ? path : `${domain}/${path}`;
  if (path.startsWith(OFFICIAL_REPO_PREFIX)) {
    const rest = path.slice(OFFICIAL_REPO_PREFIX.length);
    if (!rest.includes('/')) return rest;
  }
  return path;
}

/**
 * Go's `%q` (strconv.Quote) for the strings an image field can hold, so the
 * message matches the kubelet's event byte for byte: named escapes for
 * \a\b\f\n\r\t\v, \xNN for other ASCII controls and DEL, \uNNNN / \UNNNNNNNN
 * for non-printable runes (unicode.IsPrint: letters, marks, numbers,
 * punctuation, symbols and U+0020). A lone surrogate cannot come from the
 * API server's JSON decoding (it becomes U+FFFD), so it is shown as such.
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    let cp = ch.codePointAt(0) as number;
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    switch (cp) {
      case 0x07: out += '\\a'; continue;
      case 0x08: out += '\\b'; continue;
      case 0x0c: out += '\\f'; continue;
      case 0x0a: out += '\\n'; continue;
      case 0x0d: out += '\\r'; continue;
      case 0x09: out += '\\t'; continue;
      case 0x0b: out += '\\v'; continue;
      case 0x22: out += '\\"'; continue;
      case 0x5c: out += '\\\\'; continue;
    }
    if (cp < 0x20 || cp === 0x7f) {
      out += `\\x${cp.toString(16).padStart(2, '0')}`;
    } else if (cp === 0x20 || IS_PRINT_RE.test(String.fromCodePoint(cp))) {
      out += String.fromCodePoint(cp);
    } else if (cp < 0x10000) {
      out += `\\u${cp.toString(16).padStart(4, '0')}`;
    } else {
      out += `\\U${cp.toString(16).padStart(8, '0')}`;
    }
  }
  return `${out}"`;
}

const IS_PRINT_RE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
