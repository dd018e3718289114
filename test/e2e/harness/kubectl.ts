// The real kubectl binary, always with an explicit --kubeconfig (never the user's).
import { execFile } from 'node:child_process';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (for `apply -f -`). */
  input?: string;
  timeoutMs?: number;
}

export const KUBECTL = process.env.BACKOFF_GUARD_E2E_KUBECTL ?? 'kubectl';

export function kubectl(kubeconfig: string, args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.KUBECONFIG;
    const child = execFile(
      KUBECTL,
      ['--kubeconfig', kubeconfig, ...args],
      { env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) {
          const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
          if (e.code === 'ENOENT') {
            reject(new Error(`the e2e tests need the \`${KUBECTL}\` binary on PATH (or set BACKOFF_GUARD_E2E_KUBECTL)`));
            return;
          }
          if (e.killed) {
            reject(new Error(`kubectl ${args.join(' ')} timed out after ${opts.timeoutMs ?? 60_000} ms\n${stderr}`));
            return;
          }
          resolve({ code: typeof e.code === 'number' ? e.code : 1, stdout, stderr });
          return;
        }
        resolve({ code: 0, stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}
