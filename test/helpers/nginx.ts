// Runs a real nginx (Debian's nginx package) with a test-supplied `server { }` block, in the
// foreground, as one process (master_process off) with every path inside a temp folder.
// Used to put redirects in front of a real registry. Killed by PID on stop().
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { terminate, track } from './children.js';

export interface TestNginx {
  pid: number;
  dir: string;
  stop(): Promise<void>;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Starts nginx with `servers` (one or more server blocks) and waits until `port` accepts. */
export async function startNginx(servers: string, port: number): Promise<TestNginx> {
  const dir = mkdtempSync(join(tmpdir(), 'bg-nginx-'));
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d));
  const conf = join(dir, 'nginx.conf');
  const errorLog = join(dir, 'error.log');
  writeFileSync(
    conf,
    `daemon off;
master_process off;
pid ${join(dir, 'nginx.pid')};
error_log ${errorLog} warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
${servers}
}
`,
  );
  const child = spawn('nginx', ['-p', `${dir}/`, '-c', conf, '-e', errorLog], { stdio: 'ignore' });
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = (err as NodeJS.ErrnoException).code === 'ENOENT' ? new Error('nginx is not installed: apt-get install -y nginx') : err;
  });
  track(child);
  const stop = async (): Promise<void> => {
    await terminate(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (spawnError) {
      await stop();
      throw spawnError;
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      let log = '';
      try {
        log = readFileSync(errorLog, 'utf8');
      } catch {
        // no log yet
      }
      await stop();
      throw new Error(`nginx did not start: ${log.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { pid: child.pid ?? -1, dir, stop };
}

/** The directives of a location that passes everything to a TLS upstream on 127.0.0.1 (a test registry). */
export function proxyTo(port: number): string {
  return `proxy_pass https://127.0.0.1:${port};
      proxy_set_header Host $http_host;
      proxy_ssl_verify off;`;
}

/** nginx writes an access-log line after the answer has gone out: poll the file until `ready` holds (or 5 s pass). */
export async function readAccessLog(file: string, ready: (text: string) => boolean, timeoutMs = 5000): Promise<string> {
  const { readFileSync, existsSync } = await import('node:fs');
  const until = Date.now() + timeoutMs;
  for (;;) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (ready(text) || Date.now() >= until) return text;
    await new Promise((r) => setTimeout(r, 25));
  }
}
