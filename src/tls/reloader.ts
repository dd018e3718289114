// Reloads the serving certificate when its files change (cert-manager rotates them; a Secret
// volume swaps a `..data` symlink), without a restart or a dropped connection: new handshakes
// get the new certificate through https.Server#setSecureContext, open connections keep theirs.
// Polling the file contents is the one method that sees every way a file can be replaced
// (rename, symlink swap, in-place write) on every file system, at negligible cost.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';

export interface ReloaderOptions {
  certFile: string;
  keyFile: string;
  intervalMs?: number;
  /** Install the new pair (e.g. server.setSecureContext). */
  apply: (pair: { cert: Buffer; key: Buffer }) => void;
  onReload?: (fingerprint: string) => void;
  onError?: (err: Error) => void;
}

const digest = (cert: Buffer, key: Buffer) => createHash('sha256').update(cert).update(key).digest('hex').slice(0, 16);

export function watchCertificates(opts: ReloaderOptions): { stop(): void; check(): boolean } {
  let current = '';
  try {
    current = digest(readFileSync(opts.certFile), readFileSync(opts.keyFile));
  } catch {
    // the server started with these files: a read failure now is reported on the next check
  }
  const check = (): boolean => {
    let cert: Buffer;
    let key: Buffer;
    try {
      cert = readFileSync(opts.certFile);
      key = readFileSync(opts.keyFile);
    } catch (err) {
      opts.onError?.(err as Error);
      return false;
    }
    const next = digest(cert, key);
    if (next === current) return false;
    try {
      // Refuse a half-written or mismatched pair: keep serving the old one until both agree.
      createSecureContext({ cert, key } as SecureContextOptions);
    } catch (err) {
      opts.onError?.(err as Error);
      return false;
    }
    opts.apply({ cert, key });
    current = next;
    opts.onReload?.(next);
    return true;
  };
  const timer = setInterval(check, opts.intervalMs ?? 10_000);
  timer.unref();
  return { stop: () => clearInterval(timer), check };
}
