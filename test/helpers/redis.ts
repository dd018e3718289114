// Runs a real redis-server (Debian's redis-server package) on 127.0.0.1 with no persistence,
// in a temp folder, for the shared cache tests. Faults are real too: kill() (SIGKILL),
// pause()/resume() (SIGSTOP/SIGCONT: the socket stays open and nothing answers), restart()
// on the same port. Not a test file: excluded from the tap run.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { terminate, track } from './children.js';
import { freePort } from './ports.js';

export interface TestRedis {
  port: number;
  url: string;
  password?: string;
  pid(): number;
  kill(): Promise<void>;
  pause(): void;
  resume(): void;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function ping(port: number, password?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    let out = '';
    s.setTimeout(500, () => {
      s.destroy();
      resolve(false);
    });
    s.once('connect', () => s.write(`${password ? `AUTH ${password}\r\n` : ''}PING\r\n`));
    s.on('data', (d) => {
      out += d;
      if (out.includes('+PONG')) {
        s.destroy();
        resolve(true);
      }
    });
    s.once('error', () => resolve(false));
  });
}

export async function startRedis(opts: { password?: string; maxmemory?: string } = {}): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bg-redis-'));
  let child: ChildProcess;
  const launch = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'];
    if (opts.password) args.push('--requirepass', opts.password);
    if (opts.maxmemory) args.push('--maxmemory', opts.maxmemory, '--maxmemory-policy', 'noeviction');
    child = spawn('redis-server', args, { stdio: 'ignore' });
    let failed: Error | undefined;
    child.once('error', (err) => {
      failed = (err as NodeJS.ErrnoException).code === 'ENOENT' ? new Error('redis-server is not installed: apt-get install -y redis-server') : err;
    });
    track(child);
    const until = Date.now() + 10_000;
    while (!(await ping(port, opts.password))) {
      if (failed) throw failed;
      if (child.exitCode !== null || Date.now() > until) throw new Error(`redis-server did not start on port ${port}`);
      await new Promise((r) => setTimeout(r, 30));
    }
  };
  await launch();
  const waitExit = (c: ChildProcess) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r())));
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    ...(opts.password ? { password: opts.password } : {}),
    pid: () => child.pid ?? -1,
    async kill() {
      child.kill('SIGKILL');
      await waitExit(child);
    },
    pause() {
      child.kill('SIGSTOP');
    },
    resume() {
      child.kill('SIGCONT');
    },
    async restart() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
        await waitExit(child);
      }
      await launch();
    },
    async stop() {
      child.kill('SIGCONT');
      await terminate(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One raw command over RESP, for looking at (or spoiling) what the cache stored; the raw reply. */
export function redisCommand(redis: Pick<TestRedis, 'port' | 'password'>, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: redis.port });
    let out = '';
    const enc = (a: string) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
    s.once('connect', () => s.write(`${redis.password ? `*2\r\n${enc('AUTH')}${enc(redis.password)}` : ''}*${args.length}\r\n${args.map(enc).join('')}`));
    s.on('data', (d) => {
      out += d;
      setTimeout(() => {
        s.destroy();
        resolve(out);
      }, 30);
    });
    s.once('error', reject);
  });
}
