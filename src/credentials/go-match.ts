// The two pieces of Go's standard library the kubelet's keyring matches with, ported so the
// webhook agrees with the node on every key: path/filepath.Match (Unix) for host labels, and
// the parts of net/url.Parse and net.SplitHostPort that decide host, port and path.
// Pure; strings are handled as runes where Go decodes runes and compared exactly otherwise.

export class BadPatternError extends Error {
  constructor() {
    super('syntax error in pattern');
    this.name = 'BadPatternError';
  }
}

const SEP = '/';

function scanChunk(pattern: string[]): { star: boolean; chunk: string[]; rest: string[] } {
  let star = false;
  let p = pattern;
  while (p.length > 0 && p[0] === '*') {
    p = p.slice(1);
    star = true;
  }
  let inrange = false;
  let i = 0;
  scan: for (; i < p.length; i++) {
    switch (p[i]) {
      case '\\':
        if (i + 1 < p.length) i++;
        break;
      case '[':
        inrange = true;
        break;
      case ']':
        inrange = false;
        break;
      case '*':
        if (!inrange) break scan;
        break;
    }
  }
  return { star, chunk: p.slice(0, i), rest: p.slice(i) };
}

function getEsc(chunk: string[]): { r: string; rest: string[] } {
  if (chunk.length === 0 || chunk[0] === '-' || chunk[0] === ']') throw new BadPatternError();
  let c = chunk;
  if (c[0] === '\\') {
    c = c.slice(1);
    if (c.length === 0) throw new BadPatternError();
  }
  const r = c[0]!;
  const rest = c.slice(1);
  if (rest.length === 0) throw new BadPatternError();
  return { r, rest };
}

function matchChunk(chunkIn: string[], sIn: string[]): { rest: string[]; ok: boolean } {
  let chunk = chunkIn;
  let s = sIn;
  let failed = false;
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true;
    switch (chunk[0]) {
      case '[': {
        let r = '';
        if (!failed) {
          r = s[0]!;
          s = s.slice(1);
        }
        chunk = chunk.slice(1);
        let negated = false;
        if (chunk.length > 0 && chunk[0] === '^') {
          negated = true;
          chunk = chunk.slice(1);
        }
        let match = false;
        let nrange = 0;
        for (;;) {
          if (chunk.length > 0 && chunk[0] === ']' && nrange > 0) {
            chunk = chunk.slice(1);
            break;
          }
          const lo = getEsc(chunk);
          chunk = lo.rest;
          let hi = lo.r;
          if (chunk[0] === '-') {
            const h = getEsc(chunk.slice(1));
            hi = h.r;
            chunk = h.rest;
          }
          const cp = r.codePointAt(0) ?? -1;
          if ((lo.r.codePointAt(0) ?? 0) <= cp && cp <= (hi.codePointAt(0) ?? 0)) match = true;
          nrange++;
        }
        if (match === negated) failed = true;
        break;
      }
      case '?':
        if (!failed) {
          if (s[0] === SEP) failed = true;
          s = s.slice(1);
        }
        chunk = chunk.slice(1);
        break;
      default:
        if (chunk[0] === '\\') {
          chunk = chunk.slice(1);
          if (chunk.length === 0) throw new BadPatternError();
        }
        if (!failed) {
          if (chunk[0] !== s[0]) failed = true;
          s = s.slice(1);
        }
        chunk = chunk.slice(1);
    }
  }
  return failed ? { rest: [], ok: false } : { rest: s, ok: true };
}

/** Go path/filepath.Match on Unix. @throws BadPatternError for a malformed pattern */
export function filepathMatch(patternStr: string, nameStr: string): boolean {
  let pattern = Array.from(patternStr);
  let name = Array.from(nameStr);
  outer: while (pattern.length > 0) {
    const { star, chunk, rest } = scanChunk(pattern);
    pattern = rest;
    if (star && chunk.length === 0) return !name.includes(SEP);
    let t: { rest: string[]; ok: boolean };
    let err: unknown;
    try {
      t = matchChunk(chunk, name);
    } catch (e) {
      t = { rest: [], ok: false };
      err = e;
    }
    if (t.ok && (t.rest.length === 0 || pattern.length > 0)) {
      name = t.rest;
      continue;
    }
    if (err) throw err;
    if (star) {
      for (let i = 0; i < name.length && name[i] !== SEP; i++) {
        const u = matchChunk(chunk, name.slice(i + 1));
        if (u.ok) {
          if (pattern.length === 0 && u.rest.length > 0) continue;
          name = u.rest;
          continue outer;
        }
      }
    }
    // Before returning false, check that the rest of the pattern is well formed.
    while (pattern.length > 0) {
      const next = scanChunk(pattern);
      pattern = next.rest;
      matchChunk(next.chunk, []);
    }
    return false;
  }
  return name.length === 0;
}

// ---- net/url ----

const HEX = /^[0-9a-fA-F]{2}$/;

/** url.unescape for a path or fragment: %XX decoded bytewise; a bad escape is an error. */
function unescapePath(s: string): string | undefined {
  if (!s.includes('%')) return s;
  const bytes: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x25) {
      const hex = raw.subarray(i + 1, i + 3).toString('latin1');
      if (!HEX.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(raw[i]!);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

// url.shouldEscape(c, encodeHost) is false for these (and for ASCII letters and digits).
const HOST_OK = new Set(['!', '$', '&', "'", '(', ')', '*', '+', ',', ';', '=', ':', '[', ']', '<', '>', '"', '-', '_', '.', '~']);

function validOptionalPort(port: string): boolean {
  if (port === '') return true;
  if (port[0] !== ':') return false;
  return /^[0-9]*$/.test(port.slice(1));
}

function unescapeHost(host: string): string | undefined {
  let out = '';
  const raw = Buffer.from(host, 'utf8');
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (b === 0x25) {
      const hex = raw.subarray(i + 1, i + 3).toString('latin1');
      if (!HEX.test(hex)) return undefined;
      // Go: in a host, %-escapes may only encode non-ASCII bytes (except in a zone, "%25").
      const v = parseInt(hex, 16);
      if (v < 0x80 && hex !== '25') return undefined;
      bytes.push(v);
      i += 2;
      continue;
    }
    if (b < 0x80) {
      const c = String.fromCharCode(b);
      if (!/[A-Za-z0-9]/.test(c) && !HOST_OK.has(c)) return undefined;
    }
    bytes.push(b);
  }
  out = Buffer.from(bytes).toString('utf8');
  return out;
}

function parseHost(host: string): string | undefined {
  if (host.startsWith('[')) {
    const i = host.lastIndexOf(']');
    if (i < 0) return undefined;
    if (!validOptionalPort(host.slice(i + 1))) return undefined;
  } else {
    const i = host.lastIndexOf(':');
    if (i >= 0 && !validOptionalPort(host.slice(i))) return undefined;
  }
  return unescapeHost(host);
}

/**
 * net/url.Parse of an absolute "scheme://authority/path" URL, reduced to host (with port) and
 * unescaped path; undefined where Go returns an error.
 */
export function parseGoUrl(raw: string): { host: string; path: string } | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) return undefined;
  const hash = raw.indexOf('#');
  let rest = raw;
  if (hash >= 0) {
    if (unescapePath(raw.slice(hash + 1)) === undefined) return undefined;
    rest = raw.slice(0, hash);
  }
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(rest);
  if (!m) return undefined;
  rest = rest.slice(m[0].length);
  const q = rest.indexOf('?');
  if (q >= 0) rest = rest.slice(0, q);
  if (!rest.startsWith('//')) return { host: '', path: unescapePath(rest) ?? '' };
  rest = rest.slice(2);
  const slash = rest.indexOf('/');
  const authority = slash >= 0 ? rest.slice(0, slash) : rest;
  const pathRaw = slash >= 0 ? rest.slice(slash) : '';
  const at = authority.lastIndexOf('@');
  const hostPart = at >= 0 ? authority.slice(at + 1) : authority;
  if (at >= 0 && !/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(authority.slice(0, at))) return undefined;
  const host = parseHost(hostPart);
  if (host === undefined) return undefined;
  const path = unescapePath(pathRaw);
  if (path === undefined) return undefined;
  return { host, path };
}

/** net.SplitHostPort; on error the kubelet uses the whole host and an empty port. */
export function splitHostPort(hostport: string): { host: string; port: string } | undefined {
  const i = hostport.lastIndexOf(':');
  if (i < 0) return undefined;
  let host: string;
  let j = 0;
  let k = 0;
  if (hostport[0] === '[') {
    const end = hostport.indexOf(']');
    if (end < 0) return undefined;
    if (end + 1 === hostport.length) return undefined;
    if (end + 1 !== i) return undefined;
    host = hostport.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.slice(0, i);
    if (host.includes(':')) return undefined;
  }
  if (hostport.slice(j).includes('[')) return undefined;
  if (hostport.slice(k).includes(']')) return undefined;
  return { host, port: hostport.slice(i + 1) };
}
