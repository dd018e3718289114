// The checking engine: turns a Config into live parts (registry client, facts, cluster reader,
// checks) wired into one review function. Shared by `serve` (through app.ts) and `check`;
// it imports no HTTP framework, so the CLI starts fast.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { handleReview, type NamespaceLabels, type ReviewDeps } from './admission/handle-review.js';
import type { AdmissionReviewRequest } from './admission/review.js';
import { allChecks } from './checks/index.js';
import type { CheckPorts, ImageLookup } from './checks/ports.js';
import type { Config } from './config/schema.js';
import { ConfigError } from './config/load.js';
import { OfflineRegistry } from './facts/offline-registry.js';
import { RegistryImageFacts } from './facts/registry-image-facts.js';
import { RegistryClient, type RegistryHostConfig } from './registry/client.js';
import { VERSION } from './version.js';

export interface Engine {
  ports: CheckPorts;
  facts: RegistryImageFacts;
  registry: RegistryClient;
  reviewDeps: ReviewDeps;
  review: (review: AdmissionReviewRequest, signal: AbortSignal) => ReturnType<typeof handleReview>;
  close(): Promise<void>;
}

function registryHosts(config: Config): Record<string, RegistryHostConfig> {
  const hosts: Record<string, RegistryHostConfig> = {};
  for (const [domain, h] of Object.entries(config.registry.hosts)) {
    let ca: string | undefined;
    if (h.caFile) {
      try {
        ca = readFileSync(h.caFile, 'utf8');
      } catch (err) {
        throw new ConfigError(`invalid config: registry.hosts.${domain}.caFile cannot be read (${(err as Error).message})`, `registry.hosts.${domain}.caFile`, { cause: err });
      }
    }
    hosts[domain] = {
      ...(h.server ? { server: h.server } : {}),
      ...(ca ? { ca } : {}),
      ...(h.insecure !== undefined ? { insecure: h.insecure } : {}),
      ...(h.allowPrivateNetwork !== undefined ? { allowPrivateNetwork: h.allowPrivateNetwork } : {}),
      ...(h.timeoutMs !== undefined ? { timeoutMs: h.timeoutMs } : {}),
    };
  }
  return hosts;
}

export interface EngineOptions {
  logger: Logger;
  /** Namespace labels source; created from config.kubernetes when not given. `null`: none. */
  namespaceLabels?: NamespaceLabels | null;
  /** KUBERNETES_SERVICE_HOST, passed by main.ts. */
  serviceHost?: string;
  /** Never contact a registry (`check --offline`). */
  offline?: boolean;
  /** Called after each image lookup (metrics). */
  onLookup?: (result: ImageLookup, cached: boolean) => void;
  /** The namespace the webhook runs in: always exempt, so it can never block its own recovery. */
  ownNamespace?: string;
}

/** The checking engine shared by `serve` and `check`. */
export async function createEngine(config: Config, opts: EngineOptions): Promise<Engine> {
  const registry = new RegistryClient({
    hosts: registryHosts(config),
    timeoutMs: config.registry.timeoutMs,
    userAgent: `backoff-guard/${VERSION}`,
  });
  const facts = new RegistryImageFacts({
    registry: opts.offline ? new OfflineRegistry() : registry,
    cache: config.cache,
    credentialsOnNodes: config.registry.credentialsOnNodes,
    offlineDockerHubCheck: config.registry.offlineDockerHubCheck,
    ...(opts.onLookup ? { onLookup: (_ref: unknown, result: ImageLookup, cached: boolean) => opts.onLookup?.(result, cached) } : {}),
  });
  let namespaceLabels = opts.namespaceLabels ?? undefined;
  if (opts.namespaceLabels === undefined && config.kubernetes.enabled !== 'off') {
    // Loaded only when used: @kubernetes/client-node takes over a second to import.
    const { connectCluster } = await import('./kube/cluster.js');
    const { namespaceLabelReader } = await import('./kube/namespace-labels.js');
    const { cluster, reason } = connectCluster({
      enabled: config.kubernetes.enabled,
      ...(config.kubernetes.kubeconfig ? { kubeconfig: config.kubernetes.kubeconfig } : {}),
      ...(opts.serviceHost ? { serviceHost: opts.serviceHost } : {}),
    });
    if (cluster) {
      opts.logger.info({ source: cluster.source }, 'reading namespace labels from the Kubernetes API');
      namespaceLabels = namespaceLabelReader(cluster.core, config.kubernetes.cacheTtlMs);
    } else {
      opts.logger.info({ reason }, `no Kubernetes API access: every namespace uses the default mode (${config.admission.defaultMode})`);
    }
  }
  const ports: CheckPorts = { images: facts };
  const reviewDeps: ReviewDeps = {
    policy: opts.ownNamespace && !config.admission.exemptNamespaces.includes(opts.ownNamespace)
      ? { ...config.admission, exemptNamespaces: [...config.admission.exemptNamespaces, opts.ownNamespace] }
      : config.admission,
    checks: allChecks,
    ports,
    ...(namespaceLabels ? { namespaceLabels } : {}),
    onCheckError: (checkId, container, err) => opts.logger.error({ err, checkId, container }, 'check failed'),
  };
  return {
    ports,
    facts,
    registry,
    reviewDeps,
    review: (review, signal) => handleReview(review, signal, reviewDeps),
    close: () => registry.close(),
  };
}

