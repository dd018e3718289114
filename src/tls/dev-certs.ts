// Development certificates: a self-signed CA and a serving certificate signed by it.
// Used by `backoff-guard serve` on a fresh clone (certs/ is empty) and by the test harness
// for the registry and the webhook. Real deployments mount their own (cert-manager, the
// chart's generated CA, or a Secret): this is never the production path.
//
// Node's crypto can make keys but not X.509 certificates, so this shells out to the
// `openssl` command (present on Debian through ca-certificates).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertificatePaths {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface GeneratedCertificates extends CertificatePaths {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface GenerateOptions {
  /** Folder to write ca.crt, ca.key, tls.crt and tls.key into (created if missing). */
  dir: string;
  /** DNS names and IP addresses for the serving certificate's subjectAltName. */
  hosts?: string[];
  /** Subject common name of the serving certificate. */
  commonName?: string;
  days?: number;
}

export class CertificateGenerationError extends Error {
  readonly code = 'CERT_GENERATION_FAILED';
}

const IP_LITERAL = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]+:[0-9a-f:]*)$/i;

function subjectAltName(hosts: string[]): string {
  return hosts.map((h) => (IP_LITERAL.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new CertificateGenerationError(
        'cannot generate development certificates: the `openssl` command is not installed (apt-get install -y openssl), or mount your own with server.tls.certFile/keyFile',
        { cause: err },
      );
    }
    throw new CertificateGenerationError(`openssl ${args[0]} failed: ${(e.stderr ?? e.message).trim()}`, { cause: err });
  }
}

/** Writes a fresh CA and a serving certificate signed by it into `dir`, overwriting what is there. */
export async function generateCertificates(opts: GenerateOptions): Promise<GeneratedCertificates> {
  const hosts = opts.hosts ?? ['localhost', '127.0.0.1', '::1'];
  const days = String(opts.days ?? 825);
  const cn = opts.commonName ?? hosts[0] ?? 'localhost';
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  const caKey = join(opts.dir, 'ca.key');
  const caFile = join(opts.dir, 'ca.crt');
  const keyFile = join(opts.dir, 'tls.key');
  const csr = join(opts.dir, 'tls.csr');
  const certFile = join(opts.dir, 'tls.crt');
  const ext = join(opts.dir, 'tls.ext');

  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', caKey]);
  await openssl(['req', '-x509', '-new', '-key', caKey, '-sha256', '-days', days, '-subj', '/CN=backoff-guard development CA', '-out', caFile]);
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile]);
  await openssl(['req', '-new', '-key', keyFile, '-subj', `/CN=${cn}`, '-out', csr]);
  writeFileSync(
    ext,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${subjectAltName(hosts)}`,
      '',
    ].join('\n'),
  );
  await openssl(['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-sha256', '-days', days, '-extfile', ext, '-out', certFile]);
  return {
    caFile,
    certFile,
    keyFile,
    caPem: readFileSync(caFile, 'utf8'),
    certPem: readFileSync(certFile, 'utf8'),
    keyPem: readFileSync(keyFile, 'utf8'),
  };
}

/** Generates certificates into `dir` only when tls.crt or tls.key is missing. Returns whether it did. */
export async function ensureDevCertificates(dir: string, hosts?: string[]): Promise<{ generated: boolean; paths: CertificatePaths }> {
  const paths = { caFile: join(dir, 'ca.crt'), certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') };
  if (existsSync(paths.certFile) && existsSync(paths.keyFile)) return { generated: false, paths };
  await generateCertificates({ dir, ...(hosts ? { hosts } : {}) });
  return { generated: true, paths };
}
