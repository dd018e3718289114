// The narrow ports through which checks learn facts about the world. Implemented in src/facts/;
// checks never see a registry client, an HTTP library or the Kubernetes client.
import type { ImageReference } from '../image/reference.js';

export type ImageLookup =
  /** The registry has a manifest for this reference. */
  | { status: 'found'; registry: string; digest?: string }
  /** Certain absence: the registry said so (404), or Docker Hub's library/ namespace is known offline. */
  | {
      status: 'not-found';
      registry: string;
      /** 'tag': the repository exists but not this tag/digest; 'repository': no such repository. */
      what: 'tag' | 'repository' | 'manifest';
      /** Closest existing names or tags, best first (may be empty). */
      suggestions: string[];
      source: 'registry' | 'official-images-list';
    }
  /** Anonymous pull refused (401/403): the repository is private or does not exist. */
  | { status: 'unauthorized'; registry: string; credentialsOnNodes: boolean; suggestions: string[]; detail?: string }
  | { status: 'rate-limited'; registry: string; retryAfterMs?: number }
  /** Could not tell: network, TLS, timeout, 5xx, blocked address. */
  | { status: 'unreachable'; registry: string; reason: string };

export interface ImageFacts {
  lookup(ref: ImageReference, signal: AbortSignal): Promise<ImageLookup>;
}

export interface CheckPorts {
  images: ImageFacts;
}
