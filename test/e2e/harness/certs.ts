// Certificates for the test cluster: the project's dev CA + serving certificate (SAN
// 127.0.0.1) for kube-apiserver, plus what the project's generator does not make, with
// openssl: an admin client certificate (O=system:masters) signed by the same CA, and an RSA
// key for service-account tokens (one key serves both --service-account-key-file and
// --service-account-signing-key-file).
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateCertificates } from '../../../src/tls/dev-certs.js';

const run = promisify(execFile);

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('the e2e tests need the `openssl` command (apt-get install -y openssl)');
    throw new Error(`openssl ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

export interface ClusterCerts {
  caFile: string;
  caPem: string;
  /** kube-apiserver's serving certificate and key. */
  servingCertFile: string;
  servingKeyFile: string;
  /** Admin client certificate (CN=backoff-guard-e2e-admin, O=system:masters). */
  adminCertFile: string;
  adminKeyFile: string;
  adminCertPem: string;
  adminKeyPem: string;
  /** RSA key for signing and verifying service-account tokens. */
  serviceAccountKeyFile: string;
}

export async function makeClusterCerts(dir: string): Promise<ClusterCerts> {
  const ca = await generateCertificates({
    dir,
    hosts: ['127.0.0.1', 'localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
    commonName: 'kube-apiserver',
    days: 7,
  });
  const caKey = join(dir, 'ca.key');
  const adminKeyFile = join(dir, 'admin.key');
  const adminCsr = join(dir, 'admin.csr');
  const adminExt = join(dir, 'admin.ext');
  const adminCertFile = join(dir, 'admin.crt');
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', adminKeyFile]);
  await openssl(['req', '-new', '-key', adminKeyFile, '-subj', '/O=system:masters/CN=backoff-guard-e2e-admin', '-out', adminCsr]);
  writeFileSync(adminExt, 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  await openssl(['x509', '-req', '-in', adminCsr, '-CA', ca.caFile, '-CAkey', caKey, '-CAcreateserial', '-sha256', '-days', '7', '-extfile', adminExt, '-out', adminCertFile]);
  const serviceAccountKeyFile = join(dir, 'sa.key');
  await openssl(['genrsa', '-traditional', '-out', serviceAccountKeyFile, '2048']);
  return {
    caFile: ca.caFile,
    caPem: ca.caPem,
    servingCertFile: ca.certFile,
    servingKeyFile: ca.keyFile,
    adminCertFile,
    adminKeyFile,
    adminCertPem: readFileSync(adminCertFile, 'utf8'),
    adminKeyPem: readFileSync(adminKeyFile, 'utf8'),
    serviceAccountKeyFile,
  };
}

/** A kubeconfig for the admin user, with everything inline (no file references). */
export function kubeconfigYaml(server: string, certs: ClusterCerts): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: e2e',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(certs.caPem)}`,
    'users:',
    '- name: e2e-admin',
    '  user:',
    `    client-certificate-data: ${b64(certs.adminCertPem)}`,
    `    client-key-data: ${b64(certs.adminKeyPem)}`,
    'contexts:',
    '- name: e2e',
    '  context:',
    '    cluster: e2e',
    '    user: e2e-admin',
    '    namespace: default',
    'current-context: e2e',
    '',
  ].join('\n');
}
