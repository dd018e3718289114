#!/usr/bin/env node
// Process entry: the only file that reads process.env and process.argv.
//   backoff-guard serve [--config FILE] [--port N] [--kubeconfig FILE]
//   backoff-guard check -f FILE|DIR|- [--config FILE] [--offline] [--timeout MS] [--docker-config FILE]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { VERSION } from '../version.js';
import { reviewFor } from '../admission/review.js';
import { readManifests } from './manifests.js';

const USAGE = `backoff-guard ${VERSION}: catch ImagePullBackOff and CrashLoopBackOff before they happen

Usage:
  backoff-guard serve [--config FILE] [--port N] [--kubeconfig FILE]
      Run the validating admission webhook over HTTPS (POST /validate, GET /healthz, GET /readyz).
  backoff-guard check -f FILE|DIR|- [--config FILE] [--offline] [--timeout MS] [--docker-config FILE]
      Run the same checks over manifest files; exit 1 when something would be denied.
  backoff-guard review -f FILE
      Print the AdmissionReview the API server would send for the first object in FILE
      (to try the webhook with curl).

Options:
  -c, --config FILE      YAML config file (see README "Configuration"); env BACKOFF_GUARD_* overrides it
  -p, --port N           listen port (default 8443)
      --kubeconfig FILE  read namespace labels with this kubeconfig instead of the in-cluster account
  -f, --file PATH        manifest file, folder, or - for standard input
      --offline          check without contacting registries
      --docker-config FILE  pull credentials for check (a docker config.json), matched to images as the kubelet does
      --timeout MS       time allowed for registry lookups in check (default 15000)
  -h, --help             this help
  -v, --version          print the version`;

/** The pod's namespace: POD_NAMESPACE (downward API), else the service account's namespace file. */
function ownNamespace(): string | undefined {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  try {
    return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        port: { type: 'string', short: 'p' },
        kubeconfig: { type: 'string' },
        file: { type: 'string', short: 'f', multiple: true },
        offline: { type: 'boolean' },
        'docker-config': { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    process.stderr.write(`backoff-guard: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command || values.help ? 0 : 2;
  }

  if (command === 'review') {
    const target = values.file?.[0];
    if (!target) {
      process.stderr.write('backoff-guard review: give the manifest with -f FILE\n');
      return 2;
    }
    const { docs, errors } = readManifests(target);
    const first = docs[0]?.object;
    if (errors.length > 0 || !first || typeof first !== 'object' || Array.isArray(first)) {
      process.stderr.write(`backoff-guard review: ${errors[0] ? `${errors[0].source}: ${errors[0].message}` : `${target} holds no Kubernetes object`}\n`);
      return 2;
    }
    process.stdout.write(`${JSON.stringify(reviewFor(first as Record<string, unknown>))}\n`);
    return 0;
  }

  let config: Config;
  try {
    const overrides: Record<string, unknown> = {};
    if (values.port !== undefined) {
      if (!/^\d+$/.test(values.port)) throw new ConfigError(`--port ${JSON.stringify(values.port)}: server.port must be an integer`, 'server.port');
      overrides['server.port'] = Number(values.port);
    }
    if (values.kubeconfig) overrides['kubernetes.kubeconfig'] = values.kubeconfig;
    if (command === 'check') overrides['kubernetes.enabled'] = 'off';
    const file = values.config ?? process.env.BACKOFF_GUARD_CONFIG;
    config = loadConfig({ ...(file ? { file } : {}), env: process.env, overrides });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`backoff-guard: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  if (command === 'serve') {
    const logger = pino({ level: config.log.level, redact: ['req.headers.authorization', '*.password', '*.token'], base: { name: 'backoff-guard' } });
    let server;
    try {
      const { serve } = await import('./serve.js');
      const namespace = ownNamespace();
      server = await serve({
        config,
        logger,
        ...(namespace ? { ownNamespace: namespace } : {}),
        ...(process.env.KUBERNETES_SERVICE_HOST ? { serviceHost: process.env.KUBERNETES_SERVICE_HOST, drainDelayMs: 3000 } : {}),
      });
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`backoff-guard: ${err.message}\n`);
        return 2;
      }
      logger.fatal({ err }, 'cannot start');
      return 1;
    }
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        logger.info({ signal }, 'shutting down: readiness off, draining in-flight reviews');
        void server.close().then(resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    return 0;
  }

  if (command === 'check') {
    const targets = values.file ?? [];
    if (targets.length === 0) {
      process.stderr.write('backoff-guard check: give the manifests with -f FILE|DIR|-\n');
      return 2;
    }
    const timeoutMs = values.timeout ? Number(values.timeout) : 15_000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      process.stderr.write(`backoff-guard check: --timeout ${JSON.stringify(values.timeout)} must be a positive number of milliseconds\n`);
      return 2;
    }
    const { createEngine } = await import('../engine.js');
    const { checkManifests } = await import('./check.js');
    const { allChecks } = await import('../checks/index.js');
    const logger = pino({ level: 'silent' });
    let pullSecrets;
    const dockerConfig = values['docker-config'];
    if (dockerConfig) {
      // The file stands for the pods' pull secrets: the same keyring rules decide which entry applies.
      const { readDockerConfigForCheck } = await import('./docker-config.js');
      const loaded = readDockerConfigForCheck(dockerConfig);
      if ('error' in loaded) {
        process.stderr.write(`backoff-guard check: --docker-config ${loaded.error}\n`);
        return 2;
      }
      for (const note of loaded.notes) process.stderr.write(`backoff-guard check: --docker-config ${dockerConfig}: ${note}\n`);
      pullSecrets = loaded.pullSecrets;
    }
    let engine;
    try {
      engine = await createEngine(config, { logger, namespaceLabels: null, offline: values.offline ?? false, ...(pullSecrets ? { pullSecrets } : {}) });
    } catch (err) {
      // Files the config names (caFile, nodeDockerConfig...) are read here.
      if (err instanceof ConfigError) {
        process.stderr.write(`backoff-guard: ${err.message}\n`);
        return 2;
      }
      throw err;
    }
    const docs = targets.map((t) => readManifests(t));
    const summary = await checkManifests(
      docs.flatMap((d) => d.docs),
      docs.flatMap((d) => d.errors),
      { checks: allChecks, ports: engine.ports, timeoutMs, out: (line) => process.stdout.write(`${line}\n`) },
    );
    await engine.close();
    return summary.exitCode;
  }

  process.stderr.write(`backoff-guard: unknown command ${JSON.stringify(command)}\n\n${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`backoff-guard: ${(err as Error)?.stack ?? err}\n`);
    process.exit(1);
  },
);
