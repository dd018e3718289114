// Parsing of `WWW-Authenticate` headers (RFC 7235 §4.1, RFC 9110 §11.6.1).
//
// A registry answers 401 with one or more challenges, e.g.
//   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"
//   Basic realm="Registry Realm"
// (distribution spec: "API Version Check"; docker token auth spec: "How to authenticate").
// Pure and total: malformed input yields fewer challenges, never an exception, because the
// header comes from an untrusted server.

export interface Challenge {
  /** Lower-cased auth scheme: 'basic', 'bearer', ... */
  scheme: string;
  /** Parameters with lower-cased names and unquoted, unescaped values. */
  params: Record<string, string>;
  /** The token68 form (`Scheme abc123==`), rare in registries but legal. */
  token68?: string;
}

// tchar from RFC 9110 §5.6.2.
const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*/;

class Cursor {
  pos = 0;
  constructor(readonly s: string) {}
  get done(): boolean {
    return this.pos >= this.s.length;
  }
  peek(): string {
    return this.s[this.pos] ?? '';
  }
  skipSpace(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }
  skipSpaceAndCommas(): void {
    while (this.peek() === ' ' || this.peek() === '\t' || this.peek() === ',') this.pos++;
  }
  token(): string {
    const start = this.pos;
    while (!this.done && TCHAR.test(this.peek())) this.pos++;
    return this.s.slice(start, this.pos);
  }
  /**
   * An unquoted value. RFC 9110 allows only a token here, but servers send bare URLs
   * (`realm=https://...`), so we take everything up to the next comma or whitespace.
   */
  bare(): string {
    const start = this.pos;
    while (!this.done && !/[,\s]/.test(this.peek())) this.pos++;
    return this.s.slice(start, this.pos);
  }
  /** A quoted-string with backslash escapes (quoted-pair); an unterminated one runs to the end. */
  quoted(): string {
    this.pos++; // opening quote
    let out = '';
    while (!this.done) {
      const c = this.peek();
      this.pos++;
      if (c === '"') return out;
      if (c === '\\' && !this.done) {
        out += this.peek();
        this.pos++;
      } else {
        out += c;
      }
    }
    return out;
  }
}

/**
 * Parses one or more `WWW-Authenticate` header values into challenges, in order.
 * Several challenges may share one header value, separated by commas, so the parser must
 * tell a new scheme (`, Basic realm=...`) from another parameter (`, service=...`): a
 * token followed by `=` is a parameter, anything else starts a challenge.
 */
export function parseWWWAuthenticate(header: string | readonly string[] | undefined | null): Challenge[] {
  if (header === undefined || header === null) return [];
  if (typeof header !== 'string') return header.flatMap((h) => parseWWWAuthenticate(h));
  const c = new Cursor(header);
  const out: Challenge[] = [];
  for (;;) {
    c.skipSpaceAndCommas();
    if (c.done) break;
    const scheme = c.token();
    if (scheme === '') {
      // Garbage where a scheme should be: skip to the next comma and try again.
      while (!c.done && c.peek() !== ',') c.pos++;
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    c.skipSpace();

    // token68 form: `Scheme <token68>` followed by end or a comma.
    const rest = header.slice(c.pos);
    const t68 = TOKEN68.exec(rest);
    if (t68 && /^\s*(,|$)/.test(rest.slice(t68[0].length))) {
      challenge.token68 = t68[0];
      c.pos += t68[0].length;
      continue;
    }

    // auth-param list: name BWS "=" BWS ( token / quoted-string ), comma separated.
    for (;;) {
      c.skipSpace();
      const save = c.pos;
      const name = c.token();
      c.skipSpace();
      if (name === '' || c.peek() !== '=') {
        // Not a parameter: the start of the next challenge (or junk). Rewind and leave.
        c.pos = save;
        break;
      }
      c.pos++; // '='
      c.skipSpace();
      const value = c.peek() === '"' ? c.quoted() : c.bare();
      const key = name.toLowerCase();
      if (!(key in challenge.params)) challenge.params[key] = value;
      c.skipSpace();
      if (c.peek() !== ',') break;
      // Consume commas (empty list elements are allowed) and see whether a parameter follows.
      c.skipSpaceAndCommas();
      const look = c.pos;
      const next = c.token();
      c.skipSpace();
      const isParam = next !== '' && c.peek() === '=';
      c.pos = look;
      if (!isParam) break;
    }
  }
  return out;
}

/**
 * Picks the challenge to answer: Bearer over Basic (a registry offering both wants tokens),
 * ignoring schemes we do not implement (Negotiate, Digest...).
 */
export function selectChallenge(challenges: readonly Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}
