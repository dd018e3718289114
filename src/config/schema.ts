// The configuration's JSON schema: the single source of every key, its type and its default.
// Validated once at boot by ajv (Fastify's own validator); an invalid file refuses to start.

export type Mode = 'enforce' | 'warn' | 'off';

export interface RegistryHostSettings {
  /** Upstream base URL override (containerd hosts.toml `server`), e.g. https://mirror.internal:5000 */
  server?: string;
  /** Extra CA bundle (PEM file) trusted for this registry, besides the system store. */
  caFile?: string;
  /** Allow plain HTTP to this registry. */
  insecure?: boolean;
  /** Allow this registry to resolve to loopback or link-local addresses (SSRF guard exemption). */
  allowPrivateNetwork?: boolean;
  timeoutMs?: number;
  /** TLS client certificate and key (PEM files) for registries that require mutual TLS. */
  certFile?: string;
  keyFile?: string;
  /** Mirrors tried in order before the upstream (containerd hosts.toml `[host."..."]`). */
  mirrors?: Array<{ server: string; caFile?: string; insecure?: boolean; allowPrivateNetwork?: boolean; timeoutMs?: number; certFile?: string; keyFile?: string }>;
  /** Fall back to the upstream after the mirrors (default true). */
  upstream?: boolean;
  /**
   * Whether the image-aware checks may download this registry's manifests (each GET counts as a
   * pull on Docker Hub): always; whenQuotaAllows (not while ratelimit-remaining is below
   * registry.inspectMinRemaining); never. Default: whenQuotaAllows for Docker Hub, else always.
   */
  inspect?: InspectPolicy;
}

export type InspectPolicy = 'always' | 'whenQuotaAllows' | 'never';

export interface Config {
  server: {
    host: string;
    port: number;
    bodyLimitBytes: number;
    tls: { certFile: string; keyFile: string; generateDevCertificates: boolean };
  };
  admission: {
    defaultMode: Mode;
    budgetMs: number;
    safetyMarginMs: number;
    exemptNamespaces: string[];
    failOpen: boolean;
    namespaceModeLabel: string;
    skipChecksAnnotation: string;
    /** Issue 12: Pods of a ReplicaSet/Job whose template was reviewed clean within cache.reviewTtlMs are allowed unchecked. */
    skipCheckedTemplates: boolean;
  };
  registry: {
    timeoutMs: number;
    hosts: Record<string, RegistryHostSettings>;
    credentialsOnNodes: string[];
    offlineDockerHubCheck: boolean;
    /** Requests in flight at once per registry endpoint. */
    maxConcurrentRequests: number;
    /** Warn when a registry's remaining pull quota (ratelimit-remaining) is below this. */
    rateLimitWarnBelow: number;
    /** A docker config.json standing for the nodes' own credentials (kubelet's node keyring). */
    nodeDockerConfig?: string;
    /** inspect: whenQuotaAllows stops downloading manifests while ratelimit-remaining is below this. */
    inspectMinRemaining: number;
  };
  /** Issue 12: registry facts shared by the replicas (Redis); off without a url. */
  sharedCache: {
    url?: string;
    /** Budget of one Redis call; past it the local cache answers. */
    callBudgetMs: number;
    /** How long a replica waits for another replica's lookup of the same image before asking itself. */
    flightWaitMs: number;
    keyPrefix: string;
  };
  cache: {
    positiveTtlMs: number;
    negativeTtlMs: number;
    errorTtlMs: number;
    maxEntries: number;
    /** A pod template checked this recently is answered from memory (only definite answers; 0: never). */
    reviewTtlMs: number;
  };
  kubernetes: {
    enabled: 'auto' | 'on' | 'off';
    kubeconfig?: string;
    cacheTtlMs: number;
    /** Read pods' pull secrets and service accounts (get secrets, serviceaccounts). */
    readPullSecrets: boolean;
    /** List nodes for the images they hold (Node.status.images). */
    readNodeImages: boolean;
  };
  inspect: {
    enabled: boolean;
    maxBytesPerImage: number;
    cacheBytes: number;
    nodeArchitectures: string[];
    indexTimeoutMs: number;
  };
  /** Issue 13: re-checking the images of running workloads (`backoff-guard audit`). */
  audit: {
    /** Re-check the running workloads' images in `serve` (needs cluster access). */
    enabled: boolean;
    intervalSeconds: number;
    /** Fraction of the interval added or removed at random. */
    jitter: number;
    /** Leader election: only the holder of this coordination.k8s.io/v1 Lease scans. */
    lease: { name: string; namespace?: string; durationSeconds: number };
    /** Registry requests (manifest HEADs) an audit pass may send per minute. */
    requestsPerMinute: number;
    /** Lookups in flight at once. */
    concurrency: number;
  };
  /** Plain-HTTP GET /metrics and GET /audit apart from the webhook port; port 0: off. */
  metrics: { host: string; port: number };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
}

const ms = (def: number, min = 0, max = 600_000) => ({ type: 'integer', minimum: min, maximum: max, default: def });

/** How to reach one registry endpoint: the host itself (registry.hosts.<h>) or one of its mirrors. */
const ENDPOINT_PROPERTIES = {
  server: { type: 'string', pattern: '^https?://[^/?#@]+(/.*)?$' },
  caFile: { type: 'string', minLength: 1 },
  insecure: { type: 'boolean' },
  allowPrivateNetwork: { type: 'boolean' },
  timeoutMs: { type: 'integer', minimum: 100, maximum: 60_000 },
  certFile: { type: 'string', minLength: 1 },
  keyFile: { type: 'string', minLength: 1 },
} as const;

export const configSchema = {
  $id: 'backoff-guard-config',
  type: 'object',
  additionalProperties: false,
  properties: {
    server: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        host: { type: 'string', minLength: 1, default: '0.0.0.0' },
        port: { type: 'integer', minimum: 0, maximum: 65535, default: 8443 },
        // An UPDATE review carries the old and the new object: Fastify's 1 MiB default would turn big
        // reviews into failed webhook calls. The API server caps objects at ~3 MiB (etcd's 1.5 MiB request
        // limit x2 plus the envelope), so 7 MiB leaves room.
        bodyLimitBytes: { type: 'integer', minimum: 1024, maximum: 64 * 1024 * 1024, default: 7 * 1024 * 1024 },
        tls: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            certFile: { type: 'string', minLength: 1, default: 'certs/tls.crt' },
            keyFile: { type: 'string', minLength: 1, default: 'certs/tls.key' },
            generateDevCertificates: { type: 'boolean', default: true },
          },
        },
      },
    },
    admission: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        defaultMode: { enum: ['enforce', 'warn', 'off'], default: 'enforce' },
        budgetMs: ms(3000, 100, 30_000),
        safetyMarginMs: ms(1000, 0, 10_000),
        exemptNamespaces: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true, default: ['kube-system'] },
        failOpen: { type: 'boolean', default: true },
        namespaceModeLabel: { type: 'string', minLength: 1, default: 'backoff-guard.io/mode' },
        skipChecksAnnotation: { type: 'string', minLength: 1, default: 'backoff-guard.io/skip-checks' },
        skipCheckedTemplates: { type: 'boolean', default: false },
      },
    },
    registry: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        timeoutMs: ms(2500, 100, 60_000),
        hosts: {
          type: 'object',
          default: {},
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            properties: {
              ...ENDPOINT_PROPERTIES,
              // containerd hosts.toml semantics: mirrors in order, then the upstream unless upstream: false.
              mirrors: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['server'],
                  properties: ENDPOINT_PROPERTIES,
                },
              },
              upstream: { type: 'boolean' },
              inspect: { enum: ['always', 'whenQuotaAllows', 'never'] },
            },
          },
        },
        // Never more than this many requests in flight to one registry endpoint (others wait).
        maxConcurrentRequests: { type: 'integer', minimum: 1, maximum: 256, default: 8 },
        // Warn before a rollout hits 429 when the registry's ratelimit-remaining is below this.
        rateLimitWarnBelow: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 10 },
        // A docker config.json (e.g. a mounted Secret) standing for the credentials on the nodes:
        // tried after the pod's pull secrets, as the kubelet's node keyring is.
        nodeDockerConfig: { type: 'string', minLength: 1 },
        // Registries whose pull credentials live on the nodes (kubelet credential providers, node
        // config.json): the webhook cannot see them, so an auth failure there is a warning, never a deny.
        credentialsOnNodes: {
          type: 'array',
          items: { type: 'string', minLength: 1 },
          default: ['*.dkr.ecr.*.amazonaws.com', '*.dkr.ecr.*.amazonaws.com.cn', 'gcr.io', '*.gcr.io', '*.pkg.dev', '*.azurecr.io', '*.azurecr.cn'],
        },
        // When Docker Hub cannot be reached, a docker.io/library/<name> that is not a Docker Official
        // Image (the list ships with backoff-guard) cannot exist: deny it anyway.
        offlineDockerHubCheck: { type: 'boolean', default: true },
        // Anonymous Docker Hub allows 10 pulls an hour per address, shared with the nodes behind the
        // same NAT: inspect: whenQuotaAllows leaves at least this many for them.
        inspectMinRemaining: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 5 },
      },
    },
    // Issue 12: one cache of registry facts for all replicas, on the user's Redis. The password
    // comes from BACKOFF_GUARD_SHARED_CACHE_PASSWORD (the chart mounts it from a Secret).
    sharedCache: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        url: { type: 'string', pattern: '^rediss?://[^/?#]+(/[0-9]{0,2})?$' },
        callBudgetMs: { type: 'integer', minimum: 1, maximum: 1000, default: 25 },
        flightWaitMs: { type: 'integer', minimum: 0, maximum: 30_000, default: 3000 },
        keyPrefix: { type: 'string', pattern: '^[A-Za-z0-9:_.-]{1,64}$', default: 'backoff-guard:' },
      },
    },
    cache: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        positiveTtlMs: ms(10 * 60_000, 0, 24 * 3_600_000),
        negativeTtlMs: ms(30_000, 0, 3_600_000),
        errorTtlMs: ms(5_000, 0, 600_000),
        maxEntries: { type: 'integer', minimum: 1, maximum: 10_000_000, default: 10_000 },
        reviewTtlMs: ms(10_000, 0, 600_000),
      },
    },
    kubernetes: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { enum: ['auto', 'on', 'off'], default: 'auto' },
        kubeconfig: { type: 'string', minLength: 1 },
        cacheTtlMs: ms(30_000, 0, 3_600_000),
        // Issue 4: judge access with the pod's pull secrets, as the kubelet will (get secrets and
        // serviceaccounts); off: registries are asked anonymously and refusals are warnings.
        readPullSecrets: { type: 'boolean', default: true },
        // Issue 4: an image the registry lacks may still start on nodes that hold it (list nodes).
        readNodeImages: { type: 'boolean', default: true },
      },
    },
    // Issue 5: reading images (config blob, file index of the layers) for the image-aware checks.
    inspect: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        // Compressed layer bytes downloaded for one image; a heavier image is "could not verify".
        maxBytesPerImage: { type: 'integer', minimum: 0, maximum: 16 * 1024 ** 3, default: 256 * 1024 ** 2 },
        // Memory budget of the per-layer file index cache (shared between images).
        cacheBytes: { type: 'integer', minimum: 0, maximum: 4 * 1024 ** 3, default: 64 * 1024 ** 2 },
        // kubernetes.io/arch of the nodes, used when the pod does not choose and the nodes cannot be listed.
        nodeArchitectures: { type: 'array', items: { type: 'string', pattern: '^[a-z0-9_]+$' }, minItems: 1, uniqueItems: true, default: ['amd64'] },
        // Time allowed to download and index one image in the background (not the review's deadline).
        indexTimeoutMs: ms(120_000, 1000, 600_000),
      },
    },
    audit: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        enabled: { type: 'boolean', default: false },
        intervalSeconds: { type: 'integer', minimum: 1, maximum: 7 * 86_400, default: 900 },
        jitter: { type: 'number', minimum: 0, maximum: 0.5, default: 0.1 },
        lease: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$', default: 'backoff-guard-audit' },
            namespace: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' },
            durationSeconds: { type: 'integer', minimum: 2, maximum: 3600, default: 15 },
          },
        },
        requestsPerMinute: { type: 'integer', minimum: 1, maximum: 100_000, default: 120 },
        concurrency: { type: 'integer', minimum: 1, maximum: 64, default: 4 },
      },
    },
    metrics: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        host: { type: 'string', minLength: 1, default: '0.0.0.0' },
        port: { type: 'integer', minimum: 0, maximum: 65_535, default: 0 },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
      },
    },
  },
} as const;
