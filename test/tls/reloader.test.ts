// Certificate rotation under a running server, over real TLS connections.
import t from 'tap';
import { copyFileSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { reviewFor } from '../../src/admission/review.js';
import { serve } from '../../src/cli/serve.js';
import { loadConfig } from '../../src/config/load.js';
import { generateCertificates } from '../../src/tls/dev-certs.js';
import { podObject } from '../helpers/workloads.js';

const live = mkdtempSync(join(tmpdir(), 'bg-reload-'));
const first = await generateCertificates({ dir: mkdtempSync(join(tmpdir(), 'bg-a-')), commonName: 'first' });
const second = await generateCertificates({ dir: mkdtempSync(join(tmpdir(), 'bg-b-')), commonName: 'second' });
const install = (c: typeof first) => {
  // As a Secret volume does: new files appear by rename, never half-written.
  copyFileSync(c.certFile, join(live, 'tls.crt.tmp'));
  copyFileSync(c.keyFile, join(live, 'tls.key.tmp'));
  renameSync(join(live, 'tls.key.tmp'), join(live, 'tls.key'));
  renameSync(join(live, 'tls.crt.tmp'), join(live, 'tls.crt'));
};
install(first);

const config = loadConfig({
  document: {
    server: { host: '127.0.0.1', port: 0, tls: { certFile: join(live, 'tls.crt'), keyFile: join(live, 'tls.key'), generateDevCertificates: false } },
    kubernetes: { enabled: 'off' },
    registry: { offlineDockerHubCheck: true },
  },
});
const server = await serve({ config, logger: pino({ level: 'silent' }), certReloadIntervalMs: 50 });
t.teardown(() => server.close());

function servedName(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false }, () => {
      const cn = socket.getPeerCertificate().subject?.CN;
      socket.end();
      resolve(String(cn));
    });
    socket.on('error', reject);
  });
}

const waitFor = async (cn: string) => {
  for (let i = 0; i < 100; i++) {
    if ((await servedName()) === cn) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
};

t.test('a rotated certificate is served to new connections without a restart', async (t) => {
  t.equal(await servedName(), 'first');
  // A keep-alive connection opened before the rotation keeps working after it.
  const agent = new Agent({ connect: { ca: [first.caPem, second.caPem], servername: 'localhost' } });
  t.teardown(() => agent.close());
  const ask = async () => {
    const res = await request(`https://127.0.0.1:${server.port}/validate`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(reviewFor(podObject([{ name: 'a', image: 'busybox', command: ['exit'] }]))),
    });
    return (await res.body.json()) as { response: { allowed: boolean } };
  };
  t.equal((await ask()).response.allowed, false);
  install(second);
  t.ok(await waitFor('second'), 'the new certificate is served');
  t.equal((await ask()).response.allowed, false, 'the open connection still works');
});

t.test('a mismatched pair is refused and the current certificate stays', async (t) => {
  writeFileSync(join(live, 'tls.key'), first.keyPem); // key of the first, cert of the second
  t.equal(server.reloadCertificates(), false);
  t.equal(await servedName(), 'second');
  install(first);
  t.ok(await waitFor('first'), 'a good pair is picked up again');
});
