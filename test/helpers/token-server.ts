// A real token server for the registry's `auth.token` mode: the other half of the Docker
// token authentication protocol (https://distribution.github.io/distribution/spec/auth/token/
// and .../spec/auth/oauth/). The registry under test verifies every token it issues for real,
// so a client that gets auth wrong fails here exactly as it would against Docker Hub.
//
// What Distribution 2.8 checks (registry/auth/token/token.go, accesscontroller.go):
//   - `iss` equals auth.token.issuer, `aud` equals auth.token.service;
//   - `exp`/`nbf` within 60 s leeway;
//   - the signing key: the JOSE header must carry `x5c` (a certificate chain verified against
//     auth.token.rootcertbundle), a `jwk`, or a `kid` in libtrust fingerprint form. We use
//     `x5c` with a self-signed RSA certificate that is also the whole rootcertbundle: Go's
//     x509.Verify accepts a leaf that is itself one of the roots.
//   - `access` claims: [{type, name, actions}] must cover the request's scope, otherwise the
//     registry answers 401 with `error="insufficient_scope"`.
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey, randomUUID, sign } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TokenServerOptions {
  /** Folder for the signing key and certificate (created if missing). */
  dir: string;
  /** TLS serving certificate and key (PEM files) for the token endpoint itself. */
  certFile: string;
  keyFile: string;
  /** Must equal the registry's auth.token.service and .issuer. */
  service: string;
  issuer: string;
  /** username -> password. */
  users?: Record<string, string>;
  /** Repositories anonymous clients may pull ('name' or 'prefix/*'). */
  publicRepositories?: string[];
  /** username -> repository patterns that user may pull, push and delete; a user not listed gets every repository. */
  access?: Record<string, string[]>;
  /** OAuth2 refresh tokens (what `docker login` stores as an identity token) -> username. */
  refreshTokens?: Record<string, string>;
  /** Token lifetime in seconds announced as `expires_in` (default 300). */
  expiresIn?: number;
  /** Omit `expires_in` from responses (the client must then assume 60 s). */
  omitExpiresIn?: boolean;
  /** Answer with `access_token` only (OAuth2 style) instead of both `token` and `access_token`. */
  accessTokenOnly?: boolean;
}

export interface TokenRequestRecord {
  method: string;
  /** The authenticated user, or undefined for anonymous requests. */
  user: string | undefined;
  scopes: string[];
  service: string | null;
  status: number;
  /** Whether an Authorization header was present. */
  authorization: boolean;
}

export interface TokenServer {
  /** https://127.0.0.1:PORT */
  url: string;
  /** The realm to put in the registry config: https://127.0.0.1:PORT/token */
  realm: string;
  port: number;
  service: string;
  issuer: string;
  /** PEM file with the token signing certificate, for auth.token.rootcertbundle. */
  rootCertBundle: string;
  /** Every request the token endpoint answered, in order. */
  requests: TokenRequestRecord[];
  /** Number of TCP connections accepted. */
  connections(): number;
  stop(): Promise<void>;
}

interface ResourceActions {
  type: string;
  name: string;
  actions: string[];
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function matches(patterns: string[], name: string): boolean {
  return patterns.some((p) => (p.endsWith('/*') ? name.startsWith(p.slice(0, -1)) : p === '*' || p === name));
}

// A scope is `type:name:actions`; the name may itself contain ':' (a registry host with a
// port), so the actions are after the last colon and the type before the first
// (token scope documentation, "Resource Scope Grammar").
function parseScope(scope: string): ResourceActions | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last <= first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope.slice(last + 1).split(',').filter(Boolean),
  };
}

function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.destroy();
        reject(new Error('body too large'));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  mkdirSync(opts.dir, { recursive: true });
  const signingKeyFile = join(opts.dir, 'token-signing.key');
  const signingCertFile = join(opts.dir, 'token-signing.crt');
  // RS256 needs an RSA key; the certificate doubles as the registry's rootcertbundle.
  await run(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', signingKeyFile, '-out', signingCertFile, '-days', '2', '-subj', '/CN=backoff-guard test token signer'],
    { timeout: 30_000 },
  );
  const signingKey = createPrivateKey(readFileSync(signingKeyFile));
  const certDer = new X509Certificate(readFileSync(signingCertFile)).raw;
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] }));

  const users = opts.users ?? {};
  const publicRepos = opts.publicRepositories ?? [];
  const requests: TokenRequestRecord[] = [];
  const sockets = new Set<Socket>();
  let connectionCount = 0;

  function grant(user: string | undefined, requested: ResourceActions): ResourceActions | undefined {
    // The catalog (scope registry:catalog:*): only to signed-in users with no access list, as
    // registries commonly reserve it for administrators; never to anonymous clients.
    if (requested.type === 'registry' && requested.name === 'catalog') {
      return user !== undefined && opts.access?.[user] === undefined ? { type: 'registry', name: 'catalog', actions: ['*'] } : undefined;
    }
    if (requested.type !== 'repository') return undefined;
    let allowed: string[];
    if (user === undefined) {
      allowed = matches(publicRepos, requested.name) ? ['pull'] : [];
    } else {
      const patterns = opts.access?.[user];
      // '*' and 'delete' too: Distribution asks for `delete` on manifest DELETE (fixtures use it).
      allowed = patterns === undefined || matches(patterns, requested.name) ? ['pull', 'push', 'delete', '*'] : [];
    }
    // The spec: the token carries the intersection of what was asked and what is allowed;
    // an empty intersection still yields a token (the registry then refuses the request).
    const actions = requested.actions.filter((a) => allowed.includes(a));
    return actions.length > 0 ? { type: requested.type, name: requested.name, actions } : undefined;
  }

  function issue(user: string | undefined, scopes: string[]): { token: string; expiresIn: number; issuedAt: Date } {
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = opts.expiresIn ?? 300;
    const access = scopes.map(parseScope).flatMap((s) => (s ? [grant(user, s)] : [])).filter((a): a is ResourceActions => a !== undefined);
    const claims = {
      iss: opts.issuer,
      sub: user ?? '',
      aud: opts.service,
      exp: now + expiresIn,
      nbf: now - 1,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const signingInput = `${header}.${b64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(signingInput), signingKey);
    return { token: `${signingInput}.${b64url(signature)}`, expiresIn, issuedAt: new Date(now * 1000) };
  }

  function send(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  function answerToken(res: ServerResponse, user: string | undefined, scopes: string[], refreshToken?: string): void {
    const { token, expiresIn, issuedAt } = issue(user, scopes);
    const body: Record<string, unknown> = { access_token: token, issued_at: issuedAt.toISOString() };
    if (!opts.accessTokenOnly) body['token'] = token;
    if (!opts.omitExpiresIn) body['expires_in'] = expiresIn;
    if (refreshToken !== undefined) body['refresh_token'] = refreshToken;
    send(res, 200, body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://token.invalid');
    const record: TokenRequestRecord = {
      method: req.method ?? '',
      user: undefined,
      scopes: [],
      service: null,
      status: 0,
      authorization: req.headers.authorization !== undefined,
    };
    requests.push(record);
    const reply = (status: number, body: unknown): void => {
      record.status = status;
      send(res, status, body);
    };
    if (url.pathname !== '/token') return reply(404, { details: 'not found' });

    if (req.method === 'GET') {
      // Docker token spec: GET realm?service=...&scope=...(&scope=...), Basic credentials optional.
      record.service = url.searchParams.get('service');
      record.scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
      if (record.service !== opts.service) return reply(400, { details: 'unknown service' });
      const authz = req.headers.authorization;
      if (authz !== undefined) {
        const m = /^Basic\s+(\S+)$/i.exec(authz);
        const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
        const sep = decoded.indexOf(':');
        const user = sep >= 0 ? decoded.slice(0, sep) : '';
        const pass = sep >= 0 ? decoded.slice(sep + 1) : '';
        if (!m || users[user] === undefined || users[user] !== pass) {
          return reply(401, { details: 'incorrect username or password' });
        }
        record.user = user;
      }
      record.status = 200;
      return answerToken(res, record.user, record.scopes);
    }

    if (req.method === 'POST') {
      // OAuth2 (distribution spec/auth/oauth): form-encoded grant_type password or refresh_token.
      const form = new URLSearchParams(await readBody(req));
      record.service = form.get('service');
      record.scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      if (record.service !== opts.service) return reply(400, { error: 'invalid_request', error_description: 'unknown service' });
      const grantType = form.get('grant_type');
      let user: string | undefined;
      if (grantType === 'refresh_token') {
        user = opts.refreshTokens?.[form.get('refresh_token') ?? ''];
        if (user === undefined) return reply(401, { error: 'invalid_grant', error_description: 'unknown refresh token' });
      } else if (grantType === 'password') {
        const u = form.get('username') ?? '';
        if (users[u] === undefined || users[u] !== form.get('password')) {
          return reply(401, { error: 'invalid_grant', error_description: 'incorrect username or password' });
        }
        user = u;
      } else {
        return reply(400, { error: 'unsupported_grant_type' });
      }
      record.user = user;
      record.status = 200;
      return answerToken(res, user, record.scopes, form.get('access_type') === 'offline' ? form.get('refresh_token') ?? undefined : undefined);
    }
    return reply(405, { details: 'method not allowed' });
  }

  const server: Server = createServer({ cert: readFileSync(opts.certFile), key: readFileSync(opts.keyFile) }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { details: String(err) });
      else res.destroy();
    });
  });
  server.on('connection', (s: Socket) => {
    connectionCount++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('token server has no TCP address');
  const url = `https://127.0.0.1:${addr.port}`;
  return {
    url,
    realm: `${url}/token`,
    port: addr.port,
    service: opts.service,
    issuer: opts.issuer,
    rootCertBundle: signingCertFile,
    requests,
    connections: () => connectionCount,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
