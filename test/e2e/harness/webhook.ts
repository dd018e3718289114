// `backoff-guard serve` as the API server sees it: the built CLI (dist/cli/main.js) over HTTPS
// on a free loopback port, with a dev certificate, a config file written by the test, and its
// pino JSON log captured for assertions.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { generateCertificates } from '../../../src/tls/dev-certs.js';
import type { Cluster } from './cluster.js';
import { REPO_ROOT } from './cluster.js';
import { httpsGet } from './https-get.js';
import type { KubectlResult } from './kubectl.js';
import { freePort } from './ports.js';
import { ManagedProcess, waitFor } from './proc.js';
import { buildValidatingWebhookConfiguration } from './webhook-config.js';

const run = promisify(execFile);
export const CLI = join(REPO_ROOT, 'dist/cli/main.js');

let built: Promise<void> | undefined;

/**
 * Builds the project once per test process (`npm run build`), so the e2e tests never run a
 * stale dist/. BACKOFF_GUARD_E2E_SKIP_BUILD=1 uses dist/ as it is.
 */
export function ensureWebhookBuilt(): Promise<void> {
  built ??= (async () => {
    if (process.env.BACKOFF_GUARD_E2E_SKIP_BUILD) {
      if (!existsSync(CLI)) throw new Error(`BACKOFF_GUARD_E2E_SKIP_BUILD is set but ${CLI} does not exist (npm run build)`);
      return;
    }
    try {
      await run('npm', ['run', 'build'], { cwd: REPO_ROOT, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`npm run build failed, cannot start the webhook:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
    }
    if (!existsSync(CLI)) throw new Error(`npm run build succeeded but ${CLI} does not exist`);
  })();
  return built;
}

export interface RegistryHostConfig {
  server?: string;
  caFile?: string;
  allowPrivateNetwork?: boolean;
  [key: string]: unknown;
}

export interface WebhookOptions {
  /** Working folder for the config, certificates and log. */
  dir: string;
  /** Lets the webhook read namespace labels (warn/off modes). */
  kubeconfig?: string;
  /** registry.hosts of the config. */
  registryHosts?: Record<string, RegistryHostConfig>;
  /** Other registry.* keys (timeoutMs ...). */
  registry?: Record<string, unknown>;
  /** admission.* keys (defaultMode, budgetMs, exemptNamespaces). */
  admission?: Record<string, unknown>;
  /** Anything else, merged at the top level of the config. */
  extraConfig?: Record<string, unknown>;
}

/** One pino line of the webhook's stdout. */
export type LogLine = Record<string, unknown>;

/** A line logged for one admission review (the contract: uid, kind, namespace, name, operation, allowed). */
export interface ReviewLog extends LogLine {
  uid: string;
  kind?: unknown;
  namespace?: string;
  name?: string;
  operation?: string;
  allowed: boolean;
}

export interface WebhookServer {
  port: number;
  /** https://127.0.0.1:<port> */
  url: string;
  /** https://127.0.0.1:<port>/validate */
  validateUrl: string;
  caPem: string;
  caFile: string;
  configFile: string;
  proc: ManagedProcess;
  /** Every JSON line the webhook printed so far. */
  logLines(): LogLine[];
  /** The lines that log an admission review. */
  reviews(): ReviewLog[];
  stop(): Promise<void>;
}

export async function startWebhook(opts: WebhookOptions): Promise<WebhookServer> {
  await ensureWebhookBuilt();
  mkdirSync(opts.dir, { recursive: true });
  const certs = await generateCertificates({ dir: join(opts.dir, 'tls'), hosts: ['127.0.0.1', 'localhost'], commonName: 'backoff-guard e2e', days: 7 });
  const port = await freePort();
  const config: Record<string, unknown> = {
    server: { host: '127.0.0.1', port, tls: { certFile: certs.certFile, keyFile: certs.keyFile } },
    admission: { defaultMode: 'enforce', exemptNamespaces: ['kube-system'], ...(opts.admission ?? {}) },
    registry: { ...(opts.registry ?? {}), hosts: opts.registryHosts ?? {} },
    ...(opts.kubeconfig ? { kubernetes: { kubeconfig: opts.kubeconfig } } : {}),
    // Every review logged (a clean allow is a debug line): the harness and the tests read them.
    log: { level: 'debug' },
    ...(opts.extraConfig ?? {}),
  };
  const configFile = join(opts.dir, 'backoff-guard.yaml');
  writeFileSync(configFile, stringify(config));
  const args = [CLI, 'serve', '--config', configFile, ...(opts.kubeconfig ? ['--kubeconfig', opts.kubeconfig] : [])];
  const proc = new ManagedProcess({
    name: 'backoff-guard serve',
    command: process.execPath,
    args,
    logFile: join(opts.dir, 'backoff-guard.log'),
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_ENV: 'production' },
  });
  const url = `https://127.0.0.1:${port}`;
  try {
    await waitFor('backoff-guard /readyz', async () => (await httpsGet(`${url}/readyz`, { ca: certs.caPem }, 2000)).status === 200, {
      timeoutMs: 30_000,
      intervalMs: 200,
      proc,
    });
  } catch (err) {
    await proc.stop();
    throw err;
  }
  const logLines = (): LogLine[] => {
    const out: LogLine[] = [];
    for (const line of proc.log().split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const v: unknown = JSON.parse(line);
        if (v && typeof v === 'object' && !Array.isArray(v)) out.push(v as LogLine);
      } catch {
        /* not JSON */
      }
    }
    return out;
  };
  return {
    port,
    url,
    validateUrl: `${url}/validate`,
    caPem: certs.caPem,
    caFile: certs.caFile,
    configFile,
    proc,
    logLines,
    reviews: () => logLines().filter((l): l is ReviewLog => typeof l.uid === 'string' && typeof l.allowed === 'boolean'),
    stop: () => proc.stop(),
  };
}

export interface RegisterOptions {
  /** Per-webhook fields to override on top of the chart's definition. */
  overrides?: Record<string, unknown>;
  /**
   * A namespace the webhook intercepts, used to wait until the API server really calls the
   * webhook (its configuration informer picks new objects up asynchronously).
   */
  probeNamespace: string;
  /** Whether the webhook has seen the probe pod with this name (defaults to its review log). */
  seen: (podName: string) => boolean;
}

let probeCounter = 0;

/**
 * Registers the ValidatingWebhookConfiguration (chart definition + url/caBundle) and waits
 * until a server-side dry-run pod CREATE in `probeNamespace` reaches the webhook.
 */
export async function registerWebhook(
  cluster: Cluster,
  target: { validateUrl: string; caPem: string; proc?: ManagedProcess },
  opts: RegisterOptions,
): Promise<KubectlResult> {
  const vwc = buildValidatingWebhookConfiguration({ url: target.validateUrl, caPem: target.caPem, overrides: opts.overrides });
  const applied = await cluster.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(vwc) });
  let lastName = '';
  await waitFor(
    'the API server to call the newly registered webhook',
    async () => {
      lastName = `webhook-probe-${process.pid}-${++probeCounter}`;
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: lastName, namespace: opts.probeNamespace },
        spec: { containers: [{ name: 'probe', image: 'nginx:1.14.2' }] },
      };
      await cluster.kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(pod) });
      return opts.seen(lastName);
    },
    { timeoutMs: 30_000, intervalMs: 300, ...(target.proc ? { proc: target.proc } : {}) },
  ).catch((err: Error) => {
    const tail = target.proc ? `\nwebhook log ${target.proc.logFile}:\n${target.proc.tail()}` : '';
    throw new Error(`${err.message} (last probe: pod ${opts.probeNamespace}/${lastName})${tail}`);
  });
  return applied;
}

/** registerWebhook for a running backoff-guard (seen = a review logged for the probe pod). */
export function registerBackoffGuard(cluster: Cluster, webhook: WebhookServer, probeNamespace: string, overrides?: Record<string, unknown>) {
  return registerWebhook(cluster, webhook, {
    probeNamespace,
    overrides,
    seen: (name) => webhook.reviews().some((r) => r.name === name),
  });
}
