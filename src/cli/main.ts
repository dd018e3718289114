#!/usr/bin/env node
// Process entry: the only file that reads process.env and process.argv.
//   backoff-guard serve [--config FILE] [--port N] [--kubeconfig FILE]
//   backoff-guard check (-f FILE|DIR|- | -k DIR)... [-o text|json|sarif|github] [--fail-on deny|warning]
//                       [--config FILE] [--offline] [--timeout MS] [--docker-config FILE]
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
  backoff-guard check (-f FILE|DIR|- | -k DIR)... [-o FORMAT] [--fail-on deny|warning]
                     [--config FILE] [--offline] [--timeout MS] [--docker-config FILE]
      Run the same checks over manifest files. Exit 0: nothing at or above --fail-on;
      1: a finding at or above it; 2: unreadable input or a bad option.
  backoff-guard audit [--kubeconfig FILE] [-n NAMESPACE] [-o text|json] [--config FILE]
      Re-check the images of the workloads already in the cluster, with the credentials their
      pods use (one manifest HEAD per distinct image). Exit 0: every image is pullable;
      1: an image is absent or its credentials are refused; 2: bad option or no cluster access.
  backoff-guard review -f FILE
      Print the AdmissionReview the API server would send for the first object in FILE
      (to try the webhook with curl).

Options:
  -c, --config FILE      YAML config file (see README "Configuration"); env BACKOFF_GUARD_* overrides it
  -p, --port N           listen port (default 8443)
      --kubeconfig FILE  read namespace labels with this kubeconfig instead of the in-cluster account
  -n, --namespace NS     audit: only this namespace (default: all)
  -f, --file PATH        manifest file, folder, or - for standard input (e.g. helm template ... | check -f -)
  -k, --kustomize DIR    check what "kubectl kustomize DIR" renders (needs kubectl on PATH)
  -o, --output FORMAT    text (default), json, sarif (SARIF 2.1.0) or github (workflow command annotations)
      --fail-on LEVEL    deny (default): exit 1 when something would be denied; warning: also on warnings
      --offline          check without contacting registries (what needs one becomes a warning)
      --docker-config FILE  pull credentials for check (a docker config.json), matched to images as the kubelet does
      --timeout MS       time allowed for registry lookups in check (default 15000)
  -h, --help             this help
  -v, --version          print the version`;

const OUTPUT_FORMATS = ['text', 'json', 'sarif', 'github'];

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
        kustomize: { type: 'string', short: 'k', multiple: true },
        output: { type: 'string', short: 'o' },
        namespace: { type: 'string', short: 'n' },
        'fail-on': { type: 'string' },
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
    if (command === 'audit') overrides['kubernetes.enabled'] = 'on';
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
        ...(process.env.BACKOFF_GUARD_SHARED_CACHE_PASSWORD ? { sharedCachePassword: process.env.BACKOFF_GUARD_SHARED_CACHE_PASSWORD } : {}),
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
    // Files after the command count as -f (pre-commit appends the staged files).
    const targets = [...(values.file ?? []), ...positionals.slice(1)];
    const kustomizations = values.kustomize ?? [];
    if (targets.length === 0 && kustomizations.length === 0) {
      process.stderr.write('backoff-guard check: give the manifests with -f FILE|DIR|- or a kustomize directory with -k DIR\n');
      return 2;
    }
    const format = values.output ?? 'text';
    if (!OUTPUT_FORMATS.includes(format)) {
      process.stderr.write(`backoff-guard check: --output ${JSON.stringify(format)} must be one of ${OUTPUT_FORMATS.join(', ')}\n`);
      return 2;
    }
    const failOn = values['fail-on'] ?? 'deny';
    if (failOn !== 'deny' && failOn !== 'warning') {
      process.stderr.write(`backoff-guard check: --fail-on ${JSON.stringify(failOn)} must be deny or warning\n`);
      return 2;
    }
    const timeoutMs = values.timeout ? Number(values.timeout) : 15_000;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      process.stderr.write(`backoff-guard check: --timeout ${JSON.stringify(values.timeout)} must be a positive number of milliseconds\n`);
      return 2;
    }
    const { createEngine } = await import('../engine.js');
    const { checkManifests, exitCode } = await import('./check.js');
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
    const inputs = targets.map((t) => readManifests(t));
    if (kustomizations.length > 0) {
      const { renderKustomize } = await import('./kustomize.js');
      for (const dir of kustomizations) inputs.push(await renderKustomize(dir));
    }
    const { terminalProgress } = await import('./progress.js');
    const progress = terminalProgress(process.stderr);
    const report = await checkManifests(
      inputs.flatMap((d) => d.docs),
      inputs.flatMap((d) => d.errors),
      { checks: allChecks, ports: engine.ports, timeoutMs, ...(progress ? { progress } : {}) },
    );
    await engine.close();
    const code = exitCode(report, failOn);
    const root = process.cwd();
    let text: string;
    if (format === 'json') text = (await import('./output-json.js')).jsonOutput(report, failOn, code);
    else if (format === 'sarif') text = (await import('./output-sarif.js')).sarifOutput(report, allChecks, root);
    else if (format === 'github') text = (await import('./output-github.js')).githubOutput(report, root);
    else text = (await import('./output-text.js')).textOutput(report);
    // Exit only once the report is flushed: process.exit() would cut a piped stdout short.
    await new Promise<void>((resolve) => process.stdout.write(text, () => resolve()));
    return code;
  }

  if (command === 'audit') {
    const format = values.output ?? 'text';
    if (format !== 'text' && format !== 'json') {
      process.stderr.write(`backoff-guard audit: --output ${JSON.stringify(format)} must be text or json\n`);
      return 2;
    }
    const { connectCluster } = await import('../kube/cluster.js');
    let cluster;
    try {
      cluster = connectCluster({
        enabled: 'on',
        ...(config.kubernetes.kubeconfig ? { kubeconfig: config.kubernetes.kubeconfig } : {}),
        ...(process.env.KUBERNETES_SERVICE_HOST ? { serviceHost: process.env.KUBERNETES_SERVICE_HOST } : {}),
      }).cluster;
    } catch (err) {
      process.stderr.write(`backoff-guard audit: no cluster access: ${(err as Error).message}\n`);
      return 2;
    }
    if (!cluster) return 2;
    const { createEngine } = await import('../engine.js');
    const { listWorkloads } = await import('../kube/workloads.js');
    const { runAuditPass } = await import('../audit/audit-pass.js');
    const { RequestBudget } = await import('../audit/request-budget.js');
    const { auditExitCode, auditJson, auditText } = await import('./audit.js');
    let workloads;
    try {
      workloads = await listWorkloads(cluster.kc, values.namespace ? { namespace: values.namespace } : {});
    } catch (err) {
      process.stderr.write(`backoff-guard audit: cannot list workloads (${cluster.source}): ${(err as Error).message}\n`);
      return 2;
    }
    let engine;
    try {
      engine = await createEngine(config, { logger: pino({ level: 'silent' }) });
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`backoff-guard: ${err.message}\n`);
        return 2;
      }
      throw err;
    }
    const result = await runAuditPass(workloads, {
      registry: engine.registry,
      ...(engine.ports.pullSecrets ? { pullSecrets: engine.ports.pullSecrets } : {}),
      budget: new RequestBudget(config.audit.requestsPerMinute),
      concurrency: config.audit.concurrency,
    });
    await engine.close();
    const text = format === 'json' ? auditJson(result) : auditText(result);
    await new Promise<void>((resolve) => process.stdout.write(text, () => resolve()));
    return auditExitCode(result);
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
