// The narrow ports through which checks learn facts about the world. Implemented in src/facts/;
// checks never see a registry client, an HTTP library or the Kubernetes client.
import type { ImageReference } from '../image/reference.js';

/** Which credential decided a lookup: never the value, only where it came from. */
export interface CredentialRef {
  /** "secret default/regcred", "docker config ~/.docker/config.json", "node credentials config.json". */
  source: string;
  /** The docker config key that matched, as written ("https://index.docker.io/v1/"). */
  key: string;
}

/** The registry's pull quota as its last answer stated it (Docker Hub: ratelimit-* headers). */
export interface RateLimitState {
  limit?: number;
  remaining: number;
  /** Quota window in seconds. */
  windowS?: number;
  /** Warn when `remaining` is below this (registry.rateLimitWarnBelow). */
  warnBelow: number;
}

export type ImageLookup =
  /** The registry has a manifest for this reference. */
  | {
      status: 'found';
      registry: string;
      digest?: string;
      credential?: CredentialRef;
      rateLimit?: RateLimitState;
      mirror?: string;
      /** Why the image-aware checks will not read this image (registry.hosts.<h>.inspect, quota). */
      notInspected?: string;
    }
  /** Certain absence: the registry said so (404), or Docker Hub's library/ namespace is known offline. */
  | {
      status: 'not-found';
      registry: string;
      /** 'tag': the repository exists but not this tag/digest; 'repository': no such repository. */
      what: 'tag' | 'repository' | 'manifest';
      /** Closest existing names or tags, best first (may be empty). */
      suggestions: string[];
      source: 'registry' | 'official-images-list';
      /** The registry answered 401/403 (Docker Hub does so for a missing repository): the runtime says "pull access denied". */
      accessDenied?: boolean;
      /** The credential the registry accepted before saying so. */
      credential?: CredentialRef;
    }
  /**
   * Pull refused (401/403): anonymously (the repository is private or does not exist), or with
   * every matching credential (`rejected`, in the order the kubelet tries them).
   */
  | { status: 'unauthorized'; registry: string; credentialsOnNodes: boolean; suggestions: string[]; detail?: string; rejected?: CredentialRef[] }
  /** 429, or backed off after one: `until` is when the registry's limit resets (epoch ms). */
  | { status: 'rate-limited'; registry: string; retryAfterMs?: number; until?: number }
  /** Could not tell: network, TLS, timeout, 5xx, blocked address. */
  | { status: 'unreachable'; registry: string; reason: string };

export interface ImageFacts {
  lookup(ref: ImageReference, signal: AbortSignal, opts?: LookupOptions): Promise<ImageLookup>;
}

// ---- Issue 4: pull credentials, as the kubelet resolves them (implemented in src/facts/). ----

/** A credential value; opaque to the checks, handed back to ImageFacts.lookup. */
export interface PullCredential {
  username?: string;
  password?: string;
  identityToken?: string;
  registryToken?: string;
}

/** One credential the node will try for an image, where it came from, and its identity. */
export interface CredentialCandidate extends CredentialRef {
  credential: PullCredential;
  /** Non-reversible identity of the value (cache keys); never the value. */
  id: string;
}

export interface LookupOptions {
  /** The credentials the node tries, in its order; absent or empty: an anonymous pull. */
  credentials?: readonly CredentialCandidate[];
}

/** What a workload's pods will pull with. */
export interface PullSecretsQuery {
  kind: string;
  namespace?: string;
  imagePullSecrets: readonly string[];
  serviceAccountName?: string;
}

export interface PullSecretsView {
  /** False when the secrets could not be read (no cluster access, forbidden, deadline): `reason` says why. */
  known: boolean;
  reason?: string;
  /** `known` is false for the life of this process (no Kubernetes API at all), not for a passing failure. */
  lasting?: boolean;
  /**
   * Where the secret names come from: the pod itself (the ServiceAccount plugin already copied
   * the account's), the template's own list, the template's service account, a docker config
   * file given to the CLI, or nowhere.
   */
  from: 'pod' | 'template' | 'service-account' | 'docker-config' | 'none';
  /** The secrets the kubelet will use (names in the namespace), or the docker config file. */
  names: string[];
  serviceAccount?: string;
  /** Referenced but absent: the kubelet goes on without them. */
  missing: string[];
  /** Not a pull secret (wrong type, no data): the kubelet skips them. */
  ignored: Array<{ name: string; reason: string }>;
  /** Of a pull-secret type but unparsable: the kubelet fails the pull with that error. */
  invalid: Array<{ name: string; reason: string }>;
  /** The credentials for an image, in the kubelet's order (pull secrets, then the nodes'). */
  credentialsFor(ref: ImageReference): CredentialCandidate[];
}

export interface PullSecrets {
  forWorkload(query: PullSecretsQuery, signal: AbortSignal): Promise<PullSecretsView>;
}

/** How many nodes already hold an image (Node.status.images). */
export interface NodeImagePresence {
  nodes: number;
  withImage: number;
}

export interface NodeImages {
  /** Undefined when the nodes cannot be listed. */
  presence(ref: ImageReference, signal: AbortSignal): Promise<NodeImagePresence | undefined>;
}

// ---- Issue 5: what the runtime will find inside the image (implemented in src/inspect/). ----

/** An OCI platform (image-spec image-index.md `platform`). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** The part of an image config the runtime reads when it starts a container (image-spec config.md). */
export interface ImageRuntimeConfig {
  /** `User` as written ('' = root). */
  user: string;
  /** null when not set. */
  entrypoint: string[] | null;
  cmd: string[] | null;
  env: string[];
  workingDir: string;
}

export type ImageConfigLookup =
  | {
      status: 'found';
      manifestDigest: string;
      configDigest: string;
      /** From the config blob (`os`, `architecture`, `variant`). */
      platform: Platform;
      config: ImageRuntimeConfig;
      /** The platforms of the index the manifest was picked from; undefined for a single-platform image. */
      index?: Platform[];
    }
  /** An index without a manifest for this architecture: containerd fails "no match for platform in manifest". */
  | { status: 'no-platform'; architecture: string; available: Platform[] }
  /** Could not tell (registry trouble, unsupported manifest): the checks stay silent or warn. */
  | { status: 'unknown'; reason: string };

export interface FileEntry {
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** Permission bits (mode & 0o7777). */
  mode: number;
  /** Symlink target as stored in the layer. */
  target?: string;
  /** The `#!` line of an executable regular file, without `#!` and trimmed. */
  shebang?: string;
  /**
   * A hard link to a path its own layer does not hold: the file is the one at that path in the
   * layers below (moby pkg/archive links to the extracted root), so its content is read there.
   */
  hardlinkTo?: string;
}

/** The image's merged file system (layers applied in order, whiteouts honoured). */
export interface ImageFileSystem {
  /** The entry at an absolute path; symlinks in parent directories are followed, the last one is not. */
  lstat(path: string): FileEntry | undefined;
  /** Follows symlinks inside the image; undefined when missing, dangling or looping. */
  stat(path: string): { path: string; entry: FileEntry } | undefined;
}

export type ImageFilesLookup = { status: 'found'; files: ImageFileSystem } | { status: 'unknown'; reason: string };

export interface ImageInspector {
  /** The config of the image a node of this architecture runs (picked through the index). */
  config(ref: ImageReference, architecture: string, signal: AbortSignal): Promise<ImageConfigLookup>;
  /** Its file index ('unknown' past the byte cap or for layers that cannot be read). */
  files(ref: ImageReference, architecture: string, signal: AbortSignal): Promise<ImageFilesLookup>;
}

/** The architectures (kubernetes.io/arch) of the nodes pods may land on, and where that came from. */
export interface NodeArchitectures {
  architectures: string[];
  source: 'cluster' | 'config';
}
export type NodeArchitecturesSource = (signal: AbortSignal) => Promise<NodeArchitectures>;

/** A ConfigMap or Secret looked up by name (config-refs check). */
export type NamespacedObjectLookup = { status: 'found'; keys: string[] } | { status: 'missing' } | { status: 'unknown'; reason: string };
export interface NamespacedObjects {
  configMap(namespace: string, name: string, signal: AbortSignal): Promise<NamespacedObjectLookup>;
  secret(namespace: string, name: string, signal: AbortSignal): Promise<NamespacedObjectLookup>;
}

export interface CheckPorts {
  images: ImageFacts;
  /** Absent: the image-aware checks stay silent (offline CLI, inspection disabled). */
  inspector?: ImageInspector;
  /** Absent: amd64. */
  nodeArchitectures?: NodeArchitecturesSource;
  /** Absent: the config-refs check stays silent. */
  objects?: NamespacedObjects;
  /** Absent: pull secrets are not read (anonymous lookups, as without cluster access). */
  pullSecrets?: PullSecrets;
  /** Absent: the node-cache rule is skipped. */
  nodeImages?: NodeImages;
}
