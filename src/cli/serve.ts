// `backoff-guard serve`: load certificates, build the app, listen over HTTPS, drain on SIGTERM.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { createApp } from '../app.js';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../config/load.js';
import { ensureDevCertificates } from '../tls/dev-certs.js';
import { watchCertificates } from '../tls/reloader.js';

export interface ServeOptions {
  config: Config;
  logger: Logger;
  serviceHost?: string;
  ownNamespace?: string;
  /** How often the certificate files are compared for rotation (default 10 s). */
  certReloadIntervalMs?: number;
  /** Delay between readiness going false and the listener closing (endpoints need time to update). */
  drainDelayMs?: number;
  /** The shared cache's password (env BACKOFF_GUARD_SHARED_CACHE_PASSWORD). */
  sharedCachePassword?: string;
}

async function loadTls(config: Config, logger: Logger): Promise<{ key: Buffer; cert: Buffer }> {
  const { certFile, keyFile, generateDevCertificates } = config.server.tls;
  const read = () => ({ key: readFileSync(keyFile), cert: readFileSync(certFile) });
  try {
    return read();
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    if (!missing || !generateDevCertificates) {
      throw new ConfigError(
        `cannot read the serving certificate (server.tls.certFile ${certFile}, server.tls.keyFile ${keyFile}): ${(err as Error).message}`,
        'server.tls.certFile',
        { cause: err },
      );
    }
  }
  if (dirname(certFile) !== dirname(keyFile)) {
    throw new ConfigError('server.tls.certFile and keyFile must be in one folder to generate development certificates', 'server.tls.keyFile');
  }
  const { paths } = await ensureDevCertificates(dirname(certFile));
  logger.warn({ ca: paths.caFile, cert: paths.certFile }, 'generated a development CA and serving certificate for localhost/127.0.0.1; never use them in a cluster');
  return read();
}

/** The audit loop, when there is a cluster to audit; without one, a warning and no audit. */
async function startAuditFor(opts: ServeOptions, app: Awaited<ReturnType<typeof createApp>>): Promise<{ snapshot: () => { status: number; body: unknown }; stop: () => Promise<void> } | undefined> {
  const { config, logger } = opts;
  const { connectCluster } = await import('../kube/cluster.js');
  const { cluster, reason } = connectCluster({
    enabled: config.kubernetes.enabled === 'off' ? 'off' : 'auto',
    ...(config.kubernetes.kubeconfig ? { kubeconfig: config.kubernetes.kubeconfig } : {}),
    ...(opts.serviceHost ? { serviceHost: opts.serviceHost } : {}),
  });
  if (!cluster) {
    logger.warn({ reason }, 'audit.enabled but no Kubernetes API access: the audit of running workloads is off');
    return undefined;
  }
  const { WorkloadInformers } = await import('../kube/workload-informers.js');
  const { LeaseElector } = await import('../kube/lease.js');
  const { WorkloadEvents } = await import('../kube/events.js');
  const { startAudit } = await import('../audit/audit-in-serve.js');
  // client-go's identity: the host name (the pod name in a cluster) and a unique suffix.
  const identity = `${hostname()}_${randomUUID().slice(0, 8)}`;
  const lease = { ...config.audit.lease, namespace: config.audit.lease.namespace ?? opts.ownNamespace ?? 'default' };
  let audit: Awaited<ReturnType<typeof startAudit>> | undefined;
  // Informers run on the Lease holder only: started by its first pass, stopped when it loses
  // the Lease, so followers put no list/watch load on the API server.
  let informers: InstanceType<typeof WorkloadInformers> | undefined;
  const workloads = () =>
    (informers ??= new WorkloadInformers({
      kc: cluster.kc,
      onError: (kind, err) => logger.warn({ kind, err: (err as Error)?.message ?? String(err) }, 'workload informer failed; relisting with backoff'),
    }));
  const dropInformers = async (): Promise<void> => {
    const i = informers;
    informers = undefined;
    await i?.stop();
  };
  const elector = new LeaseElector({
    kc: cluster.kc,
    namespace: lease.namespace,
    name: lease.name,
    identity,
    durationSeconds: lease.durationSeconds,
    onChange: (leader) => {
      app.metrics.auditLeader(leader);
      logger.info({ lease: `${lease.namespace}/${lease.name}`, identity }, leader ? 'audit Lease acquired: this replica scans' : 'audit Lease not held: another replica scans');
      if (leader) audit?.loop.kick();
      else void dropInformers();
    },
  });
  const events = new WorkloadEvents(cluster.kc, identity);
  audit = startAudit({
    config,
    logger,
    engine: app.engine,
    metrics: app.metrics,
    list: () => workloads().snapshot(),
    isLeader: () => elector.isLeader(),
    warn: async (row, note) => {
      const r = await events.warn(row.workload, 'ImageUnavailable', note, 'PullCheck');
      if (!r.ok) throw new Error(r.reason);
    },
  });
  app.metrics.auditLeader(false);
  elector.start();
  logger.info({ source: cluster.source, intervalSeconds: config.audit.intervalSeconds, requestsPerMinute: config.audit.requestsPerMinute, lease: `${lease.namespace}/${lease.name}` }, 'auditing the images of running workloads (when holding the Lease)');
  const started = audit;
  return { snapshot: started.snapshot, stop: async () => { await started.stop(); await elector.stop(); await dropInformers(); } };
}

export async function serve(opts: ServeOptions): Promise<{ close: () => Promise<void>; port: number; reloadCertificates: () => boolean; metricsPort?: number }> {
  const { config, logger } = opts;
  const tls = await loadTls(config, logger);
  const app = await createApp(config, {
    logger,
    tls,
    ...(opts.serviceHost ? { serviceHost: opts.serviceHost } : {}),
    ...(opts.ownNamespace ? { ownNamespace: opts.ownNamespace } : {}),
    ...(opts.sharedCachePassword ? { sharedCachePassword: opts.sharedCachePassword } : {}),
  });
  await app.server.listen({ host: config.server.host, port: config.server.port });
  // Issue 13: the audit of running workloads, and the plain-HTTP metrics port.
  const audit = config.audit.enabled ? await startAuditFor(opts, app) : undefined;
  const metricsServer =
    config.metrics.port > 0
      ? await (await import('../http/metrics-server.js')).startMetricsServer(config.metrics.host, config.metrics.port, {
          metrics: app.metrics,
          ...(audit ? { audit: audit.snapshot } : {}),
        })
      : undefined;
  if (metricsServer) logger.info({ port: metricsServer.port }, `metrics on http://${config.metrics.host}:${metricsServer.port}/metrics${audit ? ' and /audit' : ''}`);
  const address = app.server.server.address();
  const port = typeof address === 'object' && address ? address.port : config.server.port;
  logger.info({ port, host: config.server.host, mode: config.admission.defaultMode }, `backoff-guard listening on https://${config.server.host}:${port}/validate`);

  const https = app.server.server as import('node:https').Server;
  const reloader = watchCertificates({
    certFile: config.server.tls.certFile,
    keyFile: config.server.tls.keyFile,
    intervalMs: opts.certReloadIntervalMs ?? 10_000,
    apply: ({ cert, key }) => https.setSecureContext({ cert, key, minVersion: 'TLSv1.2' }),
    onReload: (fingerprint) => logger.info({ fingerprint }, 'serving certificate reloaded'),
    onError: (err) => logger.warn({ err: err.message }, 'serving certificate files unreadable or mismatched; keeping the current one'),
  });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      reloader.stop();
      app.setReady(false);
      await audit?.stop();
      await metricsServer?.close();
      if (opts.drainDelayMs) await new Promise((r) => setTimeout(r, opts.drainDelayMs));
      await app.server.close(); // stops accepting, waits for in-flight reviews
    })();
    return closing;
  };
  return { close, port, reloadCertificates: reloader.check, ...(metricsServer ? { metricsPort: metricsServer.port } : {}) };
}
