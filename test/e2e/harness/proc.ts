// Child processes of the e2e harness (etcd, kube-apiserver, the webhook): spawned with their
// output in a log file, stopped by PID, and never left behind. Three layers make sure of it:
// the harness's own stop() (called from tap's t.teardown), a process 'exit' handler that
// SIGKILLs whatever is still running, and `setpriv --pdeathsig KILL` (util-linux) so the
// kernel kills them even when the test process itself is SIGKILLed.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

const running = new Set<ManagedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of running) p.killNow();
  });
  // Signals (tap's SIGALRM on timeout, SIGTERM, SIGKILL) are covered by --pdeathsig below.
}

let setprivChecked: boolean | undefined;
function haveSetpriv(): boolean {
  if (setprivChecked === undefined) {
    const r = spawnSync('setpriv', ['--pdeathsig', 'KILL', 'true'], { stdio: 'ignore' });
    setprivChecked = r.status === 0;
  }
  return setprivChecked;
}

export interface SpawnOptions {
  /** Shown in messages. */
  name: string;
  command: string;
  args: string[];
  /** stdout and stderr go here (appended). */
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export class ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  readonly pid: number;
  #exited = false;
  #exitCode: number | null = null;
  #exitSignal: NodeJS.Signals | null = null;
  readonly exited: Promise<void>;

  constructor(opts: SpawnOptions) {
    installExitHook();
    this.name = opts.name;
    this.logFile = opts.logFile;
    const fd = openSync(opts.logFile, 'a');
    const [cmd, args] = haveSetpriv()
      ? ['setpriv', ['--pdeathsig', 'KILL', '--', opts.command, ...opts.args]]
      : [opts.command, opts.args];
    try {
      this.child = spawn(cmd as string, args as string[], {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    if (this.child.pid === undefined) throw new Error(`${opts.name}: could not start ${opts.command}`);
    this.pid = this.child.pid;
    running.add(this);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.#exited = true;
        this.#exitCode = code;
        this.#exitSignal = signal;
        running.delete(this);
        resolve();
      });
      this.child.once('error', () => {
        this.#exited = true;
        running.delete(this);
        resolve();
      });
    });
  }

  get hasExited(): boolean {
    return this.#exited;
  }

  /** "exited with code 1" / "killed by SIGKILL" / "running". */
  describeExit(): string {
    if (!this.#exited) return 'running';
    return this.#exitSignal ? `killed by ${this.#exitSignal}` : `exited with code ${this.#exitCode}`;
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** The last lines of the log, for failure messages. */
  tail(lines = 30): string {
    return this.log().split('\n').slice(-lines).join('\n');
  }

  /** Synchronous SIGKILL by PID (for 'exit' handlers). */
  killNow(): void {
    if (this.#exited) return;
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }

  /** SIGTERM by PID, SIGKILL after `graceMs`; resolves once the process has exited. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.#exited) return;
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    const timer = setTimeout(() => this.killNow(), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Polls `check` until it returns true; throws with `describe()` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  opts: { timeoutMs: number; intervalMs?: number; proc?: ManagedProcess },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastErr: unknown;
  for (;;) {
    if (opts.proc?.hasExited) {
      throw new Error(`${opts.proc.name} ${opts.proc.describeExit()} while waiting for ${what}; log ${opts.proc.logFile}:\n${opts.proc.tail()}`);
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      const tail = opts.proc ? `\n${opts.proc.name} log ${opts.proc.logFile}:\n${opts.proc.tail()}` : '';
      const why = lastErr instanceof Error ? ` (last error: ${lastErr.message})` : '';
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}${why}${tail}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}
