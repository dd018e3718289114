import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCertificates, generateCertificates } from '../../src/tls/dev-certs.js';

t.test('a generated serving certificate verifies against its CA and names the hosts', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-certs-'));
  const c = await generateCertificates({ dir, hosts: ['localhost', '127.0.0.1', 'backoff-guard.default.svc'] });
  const verify = execFileSync('openssl', ['verify', '-CAfile', c.caFile, c.certFile], { encoding: 'utf8' });
  t.match(verify, /OK/);
  const san = execFileSync('openssl', ['x509', '-in', c.certFile, '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
  t.match(san, /DNS:localhost/);
  t.match(san, /IP Address:127\.0\.0\.1/);
  t.match(san, /DNS:backoff-guard\.default\.svc/);
  t.match(c.keyPem, /PRIVATE KEY/);
});

t.test('ensureDevCertificates keeps existing certificates', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-certs-'));
  const first = await ensureDevCertificates(dir);
  t.equal(first.generated, true);
  const second = await ensureDevCertificates(dir);
  t.equal(second.generated, false);
  t.equal(second.paths.certFile, first.paths.certFile);
});

t.test('ensureDevCertificates does not overwrite a mounted pair', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-certs-'));
  writeFileSync(join(dir, 'tls.crt'), 'mounted');
  writeFileSync(join(dir, 'tls.key'), 'mounted');
  const r = await ensureDevCertificates(dir);
  t.equal(r.generated, false);
});
