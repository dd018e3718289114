// `backoff-guard serve` as a process: SIGTERM drains in-flight reviews, then exits 0.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { reviewFor } from '../../src/admission/review.js';
import { generateCertificates } from '../../src/tls/dev-certs.js';
import { MAIN, ROOT } from '../helpers/cli.js';
import { startHangingServer } from '../helpers/hanging-server.js';
import { podObject } from '../helpers/workloads.js';

t.test('SIGTERM: the in-flight review is answered, then the process exits 0', async (t) => {
  const hanging = await startHangingServer();
  t.teardown(() => hanging.stop());
  const dir = mkdtempSync(join(tmpdir(), 'bg-serve-'));
  const certs = await generateCertificates({ dir });
  const cfg = join(dir, 'config.yaml');
  writeFileSync(
    cfg,
    [
      'server: { host: 127.0.0.1, port: 0, tls: { certFile: ' + certs.certFile + ', keyFile: ' + certs.keyFile + ' } }',
      'admission: { budgetMs: 1500 }',
      'kubernetes: { enabled: "off" }',
      `registry: { hosts: { "${hanging.host}": { caFile: ${hanging.caFile}, allowPrivateNetwork: true, timeoutMs: 20000 } } }`,
    ].join('\n'),
  );
  const child = spawn(process.execPath, [MAIN, 'serve', '--config', cfg], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /"port":(\d+).*listening/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const agent = new Agent({ connect: { ca: certs.caPem } });
  t.teardown(() => agent.close());
  const inFlight = request(`https://127.0.0.1:${port}/validate?timeout=10s`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(reviewFor(podObject([{ name: 'app', image: `${hanging.host}/team/app:1` }]))),
  });
  await new Promise((r) => setTimeout(r, 300)); // the review is now waiting on the registry
  child.kill('SIGTERM');
  const signalled = Date.now();
  const res = await inFlight;
  t.equal(res.statusCode, 200);
  const body = (await res.body.json()) as { response: { allowed: boolean; warnings: string[] } };
  t.equal(body.response.allowed, true);
  t.match(body.response.warnings[0], 'could not verify image');
  t.equal(await exited, 0);
  // A keep-alive connection must not hold the process until keepAliveTimeout (65 s).
  t.ok(Date.now() - signalled < 15_000, `exited ${Date.now() - signalled} ms after SIGTERM`);
  t.match(out, /shutting down: readiness off, draining in-flight reviews/);
});
