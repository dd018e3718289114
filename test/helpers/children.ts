// Child processes started by the test helpers (docker-registry, nginx), killed by PID when
// the test process ends in any way: normal exit, or a signal from the test runner on timeout
// ('exit' handlers do not run then).
import type { ChildProcess } from 'node:child_process';

const children = new Set<ChildProcess>();
let installed = false;

function killAll(): void {
  for (const c of children) if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAll();
      // Re-raise with the default action unless something else in the process handles it.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

/** Registers a child to be killed if the test process ends before stop() ran. */
export function track(child: ChildProcess): void {
  install();
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
export async function terminate(child: ChildProcess, graceMs = 3000): Promise<void> {
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const waitExit = (ms: number): Promise<boolean> =>
    exited()
      ? Promise.resolve(true)
      : new Promise((resolve) => {
          const timer = setTimeout(() => resolve(false), ms);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve(true);
          });
        });
  if (exited()) return;
  child.kill('SIGTERM');
  if (!(await waitExit(graceMs))) {
    child.kill('SIGKILL');
    await waitExit(graceMs);
  }
  children.delete(child);
}
