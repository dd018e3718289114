// A real `backoff-guard serve` process (dist/cli/main.js, built by `npm test`) on 127.0.0.1
// with a config written here, and an HTTPS client for its /validate and /metrics.
// Not a test file: excluded from the tap run.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import type { AdmissionReviewRequest } from '../../src/admission/review.js';
import { generateCertificates } from '../../src/tls/dev-certs.js';
import { terminate, track } from './children.js';
import { MAIN, ROOT } from './cli.js';

export interface WebhookProcess {
  port: number;
  review(review: AdmissionReviewRequest, timeout?: string): Promise<{ status: number; allowed?: boolean; warnings: string[]; ms: number }>;
  metrics(): Promise<string>;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `serve` with `config` (a JSON document: server.host/port/tls are filled in). */
export async function startWebhook(config: Record<string, unknown>, env: Record<string, string> = {}): Promise<WebhookProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'bg-webhook-'));
  const certs = await generateCertificates({ dir });
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ ...config, server: { host: '127.0.0.1', port: 0, tls: { certFile: certs.certFile, keyFile: certs.keyFile } } }));
  const child = spawn(process.execPath, [MAIN, 'serve', '--config', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  track(child);
  let out = '';
  child.stderr.on('data', (d) => (out += d));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /"port":(\d+).*listening/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
  const agent = new Agent({ connect: { ca: certs.caPem }, keepAliveTimeout: 10_000 });
  let stopping: Promise<void> | undefined;
  return {
    port,
    async review(review, timeout = '10s') {
      const started = performance.now();
      const res = await request(`https://127.0.0.1:${port}/validate?timeout=${timeout}`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(review),
      });
      const text = await res.body.text();
      const ms = performance.now() - started;
      if (res.statusCode !== 200) return { status: res.statusCode, warnings: [text], ms };
      const body = JSON.parse(text) as { response: { allowed: boolean; warnings?: string[] } };
      return { status: 200, allowed: body.response.allowed, warnings: body.response.warnings ?? [], ms };
    },
    async metrics() {
      const res = await request(`https://127.0.0.1:${port}/metrics`, { dispatcher: agent });
      return res.body.text();
    },
    output: () => out,
    stop() {
      stopping ??= (async () => {
        await agent.close();
        await terminate(child);
      })();
      return stopping;
    },
  };
}

/** The value of one sample of a Prometheus exposition (0 when absent). */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) return Number(m[3]);
  }
  return 0;
}

/** The sum of every sample of a metric whose labels include `labels`. */
export function total(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}
