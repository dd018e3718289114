// The checking engine: turns a Config into live parts (registry client, facts, cluster reader,
// checks) wired into one review function. Shared by `serve` (through app.ts) and `check`;
// it imports no HTTP framework, so the CLI starts fast.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { handleReview, type NamespaceLabels, type ReviewDeps } from './admission/handle-review.js';
import type { SignalSource } from './admission/deadline.js';
import { CheckedTemplates } from './admission/checked-templates.js';
import { FindingsMemo } from './admission/findings-memo.js';
import type { AdmissionReviewRequest } from './admission/review.js';
import { allChecks } from './checks/index.js';
import type { CheckPorts, ImageLookup, NamespacedObjects, NodeArchitecturesSource, NodeImages, PullSecrets } from './checks/ports.js';
import type { Config, InspectPolicy } from './config/schema.js';
import type { ImageReference } from './image/reference.js';
import { isDockerHub } from './registry/pull-cost.js';
import { perWindow } from './util/quota-window.js';
import type { SharedCache } from './cache/shared-cache.js';
import { ConfigError } from './config/load.js';
import { OfflineRegistry } from './facts/offline-registry.js';
import { RegistryImageFacts } from './facts/registry-image-facts.js';
import { InspectError, RegistryImageInspector } from './inspect/image-inspector.js';
import { RegistryClient, type RegistryHostConfig } from './registry/client.js';
import type { RequestEvent } from './registry/transport.js';
import { DockerConfigError, parseDockerConfigFile } from './credentials/docker-config.js';
import { Keyring } from './credentials/keyring.js';
import { ClusterNodeImages } from './facts/node-images.js';
import { ClusterPullSecrets } from './facts/pull-secrets.js';
import { VERSION } from './version.js';

export interface Engine {
  ports: CheckPorts;
  facts: RegistryImageFacts;
  /** Reads image configs and layers (issue 5); absent offline or with inspect.enabled false. */
  inspector?: RegistryImageInspector;
  registry: RegistryClient;
  reviewDeps: ReviewDeps;
  review: (review: AdmissionReviewRequest, signal: SignalSource) => ReturnType<typeof handleReview>;
  close(): Promise<void>;
}

function readConfigFile(path: string, field: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`invalid config: ${field} cannot be read (${(err as Error).message})`, field, { cause: err });
  }
}

type EndpointSettings = { caFile?: string; insecure?: boolean; allowPrivateNetwork?: boolean; timeoutMs?: number; certFile?: string; keyFile?: string };

/** The client settings of one endpoint (upstream or mirror), PEM files read. */
function endpointSettings(h: EndpointSettings, field: string): Omit<RegistryHostConfig, 'server' | 'mirrors' | 'upstream'> {
  if ((h.certFile === undefined) !== (h.keyFile === undefined)) {
    throw new ConfigError(`invalid config: ${field} needs both certFile and keyFile`, `${field}.${h.certFile === undefined ? 'certFile' : 'keyFile'}`);
  }
  return {
    ...(h.caFile ? { ca: readConfigFile(h.caFile, `${field}.caFile`) } : {}),
    ...(h.certFile && h.keyFile ? { cert: readConfigFile(h.certFile, `${field}.certFile`), key: readConfigFile(h.keyFile, `${field}.keyFile`) } : {}),
    ...(h.insecure !== undefined ? { insecure: h.insecure } : {}),
    ...(h.allowPrivateNetwork !== undefined ? { allowPrivateNetwork: h.allowPrivateNetwork } : {}),
    ...(h.timeoutMs !== undefined ? { timeoutMs: h.timeoutMs } : {}),
  };
}

function registryHosts(config: Config): Record<string, RegistryHostConfig> {
  const hosts: Record<string, RegistryHostConfig> = {};
  for (const [domain, h] of Object.entries(config.registry.hosts)) {
    hosts[domain] = {
      ...(h.server ? { server: h.server } : {}),
      ...endpointSettings(h, `registry.hosts.${domain}`),
      ...(h.mirrors ? { mirrors: h.mirrors.map((m, i) => ({ server: m.server, ...endpointSettings(m, `registry.hosts.${domain}.mirrors.${i}`) })) } : {}),
      ...(h.upstream !== undefined ? { upstream: h.upstream } : {}),
    };
  }
  return hosts;
}

/** registry.nodeDockerConfig: the nodes' own credentials, as a keyring after the pod's. */
function nodeKeyring(config: Config, logger: Logger): Keyring | undefined {
  const path = config.registry.nodeDockerConfig;
  if (!path) return undefined;
  const field = 'registry.nodeDockerConfig';
  let parsed;
  try {
    parsed = parseDockerConfigFile(readConfigFile(path, field));
  } catch (err) {
    if (err instanceof DockerConfigError) throw new ConfigError(`invalid config: ${field} ${path} ${err.reason}`, field, { cause: err });
    throw err;
  }
  const keyring = new Keyring();
  const ignored = keyring.add({ kind: 'node', name: path }, parsed.entries);
  logger.info({ path, keys: parsed.entries.map((e) => e.key), ignored }, "using a docker config as the nodes' credentials");
  return keyring;
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
  /** Called for every HTTP request sent to a registry (metrics): status, kind, counted pull, quota. */
  onRegistryRequest?: (event: RequestEvent) => void;
  /** Called for every shared cache operation (metrics); fallbackReason when the local cache answered instead. */
  onSharedCache?: (op: string, result: string, fallbackReason?: string) => void;
  /** The namespace the webhook runs in: always exempt, so it can never block its own recovery. */
  ownNamespace?: string;
  /** The nodes' architectures (e.g. from the Node objects); default: config inspect.nodeArchitectures. */
  nodeArchitectures?: NodeArchitecturesSource;
  /** ConfigMaps and Secrets of a namespace, for the config-refs check; default: none (check silent). */
  objects?: NamespacedObjects;
  /** The shared cache's password (BACKOFF_GUARD_SHARED_CACHE_PASSWORD, read by main.ts). */
  sharedCachePassword?: string;
  /** Pull credentials (issue 4); default: the cluster's pull secrets when it can be read. */
  pullSecrets?: PullSecrets;
}

/** The checking engine shared by `serve` and `check`. */
export async function createEngine(config: Config, opts: EngineOptions): Promise<Engine> {
  const registry = new RegistryClient({
    hosts: registryHosts(config),
    timeoutMs: config.registry.timeoutMs,
    userAgent: `backoff-guard/${VERSION}`,
    maxConcurrentPerHost: config.registry.maxConcurrentRequests,
    maxCachedTokens: config.cache.maxEntries,
    maxCachedHosts: Math.min(config.cache.maxEntries, 256), // a TLS context and a pool (~10 KB) per registry domain
    ...(opts.onRegistryRequest ? { observe: (e: RequestEvent) => opts.onRegistryRequest?.(e) } : {}),
  });
  const nodes = nodeKeyring(config, opts.logger);
  // Issue 12: registry facts shared by the replicas, when configured (never for the CLI offline).
  let shared: SharedCache | undefined;
  if (config.sharedCache.url && !opts.offline) {
    const { RedisSharedCache, redactedUrl } = await import('./cache/redis-shared-cache.js');
    const url = redactedUrl(config.sharedCache.url);
    shared = await RedisSharedCache.create({
      url: config.sharedCache.url,
      ...(opts.sharedCachePassword ? { password: opts.sharedCachePassword } : {}),
      callBudgetMs: config.sharedCache.callBudgetMs,
      flightWaitMs: config.sharedCache.flightWaitMs,
      keyPrefix: config.sharedCache.keyPrefix,
      ...(opts.onSharedCache ? { observe: opts.onSharedCache } : {}),
      onState: (state, detail) =>
        state === 'ready'
          ? opts.logger.info({ url }, 'shared cache connected')
          : opts.logger.warn({ url, detail }, 'shared cache unreachable: each replica uses its own cache until it is back'),
    });
  }
  let pullSecrets: PullSecrets | undefined = opts.pullSecrets;
  let nodeImages: NodeImages | undefined;
  let nodeArchitecturesFromCluster: CheckPorts['nodeArchitectures'];
  let objects: NamespacedObjects | undefined = opts.objects;
  const inspecting = config.inspect.enabled && !opts.offline;
  // Issue 12: may the image-aware checks download this registry's manifests (counted pulls)?
  const inspectPolicy = (domain: string): InspectPolicy => config.registry.hosts[domain]?.inspect ?? (isDockerHub(domain) ? 'whenQuotaAllows' : 'always');
  // The reason the quota stops inspection (a "could not verify" warning on the image).
  const quotaGate = (ref: ImageReference): string | undefined => {
    if (inspectPolicy(ref.domain) !== 'whenQuotaAllows') return undefined;
    const rl = registry.rateLimit(ref.domain);
    const min = config.registry.inspectMinRemaining;
    if (!rl || rl.remaining >= min) return undefined;
    // Short: a warning line is cut at 256 characters (verdict.ts).
    return `${ref.domain} has ${rl.remaining}${rl.limit !== undefined ? ` of ${rl.limit}` : ''} pulls left${perWindow(rl.windowS)}, under the ${min} kept for the nodes (registry.inspectMinRemaining): manifest not downloaded`;
  };
  // inspect: never is the user's choice, not a surprise: no warning, like inspect.enabled: false.
  const inspectGate = (ref: ImageReference): string | undefined =>
    inspectPolicy(ref.domain) === 'never' ? `backoff-guard does not download manifests from ${ref.domain} (registry.hosts.${ref.domain}.inspect: never)` : quotaGate(ref);
  const facts: RegistryImageFacts = new RegistryImageFacts({
    registry: opts.offline ? new OfflineRegistry() : registry,
    cache: config.cache,
    credentialsOnNodes: config.registry.credentialsOnNodes,
    offlineDockerHubCheck: config.registry.offlineDockerHubCheck,
    rateLimitWarnBelow: config.registry.rateLimitWarnBelow,
    ...(shared ? { shared } : {}),
    // With image inspection the lookup GETs the manifest the inspector needs: one request, not
    // two, and one counted pull either way. Not where inspection depends on the quota (or is
    // off): there the existence check is a HEAD, which Docker Hub does not count.
    ...(inspecting
      ? {
          manifestWanted: (ref: ImageReference) => inspectPolicy(ref.domain) === 'always',
          inspectGate: quotaGate,
          onManifest: async (ref: ImageReference, d: { digest?: string; mediaType?: string }, body: Buffer): Promise<void> => {
            if (d.digest) await inspector?.rememberManifest(d.digest, body, d.mediaType, ref);
          },
        }
      : {}),
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
      namespaceLabels = namespaceLabelReader(cluster.core, config.kubernetes.cacheTtlMs, config.cache.maxEntries);
      // Issue 4: pull secrets, service accounts and the nodes' images, cached briefly.
      const ttl = { ttlMs: config.kubernetes.cacheTtlMs, maxEntries: config.cache.maxEntries };
      if (!pullSecrets && config.kubernetes.readPullSecrets) {
        const { secretReader } = await import('./kube/secrets.js');
        const { serviceAccountReader } = await import('./kube/service-accounts.js');
        pullSecrets = new ClusterPullSecrets(
          { readSecret: secretReader(cluster.core, ttl), readServiceAccount: serviceAccountReader(cluster.core, ttl) },
          nodes ? { nodeKeyring: nodes } : {},
        );
      }
      if (config.kubernetes.readNodeImages) {
        const { nodeImagesReader, clusterArchitectures } = await import('./kube/nodes.js');
        const readNodes = nodeImagesReader(cluster.core, ttl);
        nodeImages = new ClusterNodeImages(readNodes);
        // The nodes' architectures for the platform checks: the Node objects, else the config.
        nodeArchitecturesFromCluster = async (signal: AbortSignal) => {
          const archs = await clusterArchitectures(readNodes, signal);
          return archs ? { architectures: archs, source: 'cluster' as const } : { architectures: [...config.inspect.nodeArchitectures], source: 'config' as const };
        };
      }
      // Issue 5 (config-refs): the ConfigMaps and Secrets pods reference, keys only. A 403 (no
      // RBAC) reads as "cannot tell" and the check stays silent.
      if (!objects) {
        const { configMapReader } = await import('./kube/config-maps.js');
        const readConfigMap = configMapReader(cluster.core, ttl);
        const readSecret = config.kubernetes.readPullSecrets ? (await import('./kube/secrets.js')).secretReader(cluster.core, ttl) : undefined;
        objects = {
          configMap: (namespace, name, signal) => readConfigMap(namespace, name, signal),
          secret: async (namespace, name, signal) => {
            if (!readSecret) return { status: 'unknown', reason: 'secrets are not read (kubernetes.readPullSecrets: false)' };
            const r = await readSecret(namespace, name, signal);
            return r.status === 'found' ? { status: 'found', keys: Object.keys(r.data) } : r;
          },
        };
      }
    } else {
      opts.logger.info({ reason }, `no Kubernetes API access: every namespace uses the default mode (${config.admission.defaultMode}), pull secrets are not read (registries are asked anonymously)`);
      pullSecrets ??= new ClusterPullSecrets(undefined, { unavailableReason: reason, ...(nodes ? { nodeKeyring: nodes } : {}) });
    }
  }
  if (!pullSecrets && nodes) pullSecrets = new ClusterPullSecrets(undefined, { unavailableReason: 'pull secrets are not read', nodeKeyring: nodes });
  // Issue 5: image configs and file indexes for the image-aware checks; their downloads run in
  // the background past a review's deadline, bounded by inspect.indexTimeoutMs.
  const anonymousLookup = new AbortController().signal;
  const inspector: RegistryImageInspector | undefined = inspecting
    ? new RegistryImageInspector({
        registry,
        // The existence lookup's answer (single flight, cached): its manifest is already here.
        resolveDigest: async (ref): Promise<string | undefined> => {
          const found = await facts.lookup(ref, anonymousLookup);
          if (found.status === 'found') return found.digest;
          // Asking again would repeat the failure (and, after a HEAD 404, its counted GET).
          const why = { unreachable: 'could not be asked', 'rate-limited': 'is rate-limiting', 'not-found': 'does not have it', unauthorized: 'refused anonymous access' }[found.status];
          throw new InspectError(`${found.registry} ${found.status === 'unreachable' ? found.reason : why}`);
        },
        maxBytesPerImage: config.inspect.maxBytesPerImage,
        cacheBytes: config.inspect.cacheBytes,
        maxEntries: config.cache.maxEntries,
        indexTimeoutMs: config.inspect.indexTimeoutMs,
        gate: inspectGate,
        ...(shared ? { shared } : {}),
        onIndexed: (info) => opts.logger.debug(info, 'image file index built'),
      })
    : undefined;
  const configuredArchitectures = [...config.inspect.nodeArchitectures];
  const ports: CheckPorts = {
    images: facts,
    ...(inspector ? { inspector } : {}),
    nodeArchitectures: opts.nodeArchitectures ?? nodeArchitecturesFromCluster ?? (async () => ({ architectures: configuredArchitectures, source: 'config' as const })),
    ...(objects ? { objects } : {}),
    ...(pullSecrets ? { pullSecrets } : {}),
    ...(nodeImages ? { nodeImages } : {}),
  };
  // Reviews of an identical pod template within cache.reviewTtlMs reuse its definite findings.
  const memoTtlMs = Math.min(config.cache.reviewTtlMs, config.cache.positiveTtlMs, config.cache.negativeTtlMs, config.kubernetes.cacheTtlMs);
  const memo = new FindingsMemo({ ttlMs: memoTtlMs, maxEntries: config.cache.maxEntries });
  const reviewDeps: ReviewDeps = {
    policy: opts.ownNamespace && !config.admission.exemptNamespaces.includes(opts.ownNamespace)
      ? { ...config.admission, exemptNamespaces: [...config.admission.exemptNamespaces, opts.ownNamespace] }
      : config.admission,
    checks: allChecks,
    ports: memo.enabled ? memo.watch(ports) : ports,
    memo,
    ...(config.admission.skipCheckedTemplates
      ? { checkedTemplates: new CheckedTemplates({ ttlMs: memoTtlMs, maxEntries: config.cache.maxEntries, ...(shared ? { shared } : {}) }) }
      : {}),
    ...(namespaceLabels ? { namespaceLabels } : {}),
    onCheckError: (checkId, container, err) => opts.logger.error({ err, checkId, container }, 'check failed'),
  };
  return {
    ports,
    facts,
    ...(inspector ? { inspector } : {}),
    registry,
    reviewDeps,
    review: (review, signal) => handleReview(review, signal, reviewDeps),
    // Shutdown: reviews in flight were answered before this runs; background lookups are dropped.
    close: async () => {
      await registry.destroy();
      await shared?.close();
    },
  };
}

