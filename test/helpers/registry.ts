// Starts a real CNCF Distribution registry (the Debian `docker-registry` package, 2.8.x) on
// 127.0.0.1 with TLS from the project's development CA, in one of three auth modes:
//   'none'     - anonymous pull and push;
//   'htpasswd' - Basic auth against a bcrypt htpasswd file made by `htpasswd -Bbn`
//                (Distribution only accepts bcrypt entries);
//   'token'    - Bearer tokens from test/helpers/token-server.ts (docker token auth spec).
// Config keys follow the Distribution configuration reference (storage.filesystem,
// storage.delete, http.addr, http.tls, auth.htpasswd, auth.token).
//
// Every child is killed by PID on stop(), and on process exit or a runner's signal as a last
// resort (children.ts), so a failed test never leaves a registry listening.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { generateCertificates } from '../../src/tls/dev-certs.js';
import { track, terminate } from './children.js';
import { freePort } from './ports.js';
import { startTokenServer, type TokenServer, type TokenServerOptions } from './token-server.js';

const run = promisify(execFile);

export type RegistryAuthMode = 'none' | 'htpasswd' | 'token';

export interface StartRegistryOptions {
  auth?: RegistryAuthMode;
  /** username -> password, for 'htpasswd' and 'token' (default { admin: 'admin-secret' }). */
  users?: Record<string, string>;
  /** 'token' mode: repositories anonymous clients may pull (default ['library/*', 'team/*']). */
  publicRepositories?: string[];
  /** 'token' mode: extra token server settings (access lists, refresh tokens, lifetimes). */
  tokenServer?: Partial<Pick<TokenServerOptions, 'access' | 'refreshTokens' | 'expiresIn' | 'omitExpiresIn' | 'accessTokenOnly'>>;
  /** Extra names for the serving certificate (127.0.0.1 and localhost are always there). */
  hosts?: string[];
  /** Serve plain http instead of https (for `insecure` hosts; default false). */
  plainHttp?: boolean;
  /** Milliseconds to wait for /v2/ to answer (default 15000). */
  startTimeoutMs?: number;
}

export interface TestRegistry {
  /** '127.0.0.1:PORT' — what an image reference's domain would be. */
  host: string;
  /** 'https://127.0.0.1:PORT' ('http://...' with plainHttp) */
  url: string;
  port: number;
  auth: RegistryAuthMode;
  users: Record<string, string>;
  /** PEM of the CA that signed the registry's (and the token server's) serving certificate. */
  caPem: string;
  caFile: string;
  /** The registry's serving certificate and key (PEM files), for fronting proxies in tests. */
  certFile: string;
  keyFile: string;
  /** Temp folder holding config, certificates, htpasswd and storage. */
  dir: string;
  tokenServer?: TokenServer;
  /** The PID of the docker-registry process. */
  pid: number;
  stop(): Promise<void>;
}

function findOnPath(cmd: string): string | undefined {
  for (const d of (process.env['PATH'] ?? '/usr/bin:/bin').split(delimiter)) {
    const p = join(d, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** One GET (https with the test CA, or http); resolves with the status, rejects on connection errors. */
function probe(url: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(url, { ca, method: 'GET', timeout: 1000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('probe timeout')));
    req.on('error', reject);
    req.end();
  });
}

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<TestRegistry> {
  const binary = findOnPath('docker-registry');
  if (binary === undefined) throw new Error('docker-registry is not installed: apt-get install -y docker-registry');
  const auth = opts.auth ?? 'none';
  const users = opts.users ?? (auth === 'none' ? {} : { admin: 'admin-secret' });
  const dir = mkdtempSync(join(tmpdir(), 'bg-registry-'));
  const certs = await generateCertificates({ dir: join(dir, 'tls'), hosts: ['127.0.0.1', 'localhost', ...(opts.hosts ?? [])] });
  const port = await freePort();

  let tokenServer: TokenServer | undefined;
  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: 'error', accesslog: { disabled: true }, formatter: 'text' },
    storage: {
      filesystem: { rootdirectory: join(dir, 'data') },
      delete: { enabled: true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: {
      addr: `127.0.0.1:${port}`,
      secret: randomBytes(16).toString('hex'),
      ...(opts.plainHttp ? {} : { tls: { certificate: certs.certFile, key: certs.keyFile } }),
    },
  };

  if (auth === 'htpasswd') {
    if (findOnPath('htpasswd') === undefined) throw new Error('htpasswd is not installed: apt-get install -y apache2-utils');
    const lines: string[] = [];
    for (const [user, pass] of Object.entries(users)) {
      // -B: bcrypt (the only hash Distribution's htpasswd auth accepts); -n: print, don't write a file.
      const { stdout } = await run('htpasswd', ['-Bbn', user, pass], { timeout: 30_000 });
      lines.push(stdout.trim());
    }
    const path = join(dir, 'htpasswd');
    writeFileSync(path, `${lines.join('\n')}\n`, { mode: 0o600 });
    config['auth'] = { htpasswd: { realm: 'backoff-guard-test', path } };
  } else if (auth === 'token') {
    tokenServer = await startTokenServer({
      dir: join(dir, 'token'),
      certFile: certs.certFile,
      keyFile: certs.keyFile,
      service: 'backoff-guard-test-registry',
      issuer: 'backoff-guard-test-token-server',
      users,
      publicRepositories: opts.publicRepositories ?? ['library/*', 'team/*'],
      ...opts.tokenServer,
    });
    config['auth'] = {
      token: {
        realm: tokenServer.realm,
        service: tokenServer.service,
        issuer: tokenServer.issuer,
        rootcertbundle: tokenServer.rootCertBundle,
      },
    };
  }

  const configFile = join(dir, 'config.yml');
  writeFileSync(configFile, stringify(config));

  const child = spawn(binary, ['serve', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });
  track(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    stderr = (stderr + d).slice(-8192);
  });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await terminate(child);
    await tokenServer?.stop();
    rmSync(dir, { recursive: true, force: true });
  };

  const url = `${opts.plainHttp ? 'http' : 'https'}://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 15_000);
  for (;;) {
    if (spawnError) {
      await stop();
      throw new Error(`could not start docker-registry: ${spawnError.message}`);
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`docker-registry exited during startup (${child.exitCode ?? child.signalCode}): ${stderr.trim()}`);
    }
    try {
      const status = await probe(`${url}/v2/`, certs.caPem);
      if (status === 200 || status === 401) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not answer ${url}/v2/ in time: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    host: `127.0.0.1:${port}`,
    url,
    port,
    auth,
    users,
    caPem: certs.caPem,
    caFile: certs.caFile,
    certFile: certs.certFile,
    keyFile: certs.keyFile,
    dir,
    ...(tokenServer ? { tokenServer } : {}),
    pid: child.pid ?? -1,
    stop,
  };
}
