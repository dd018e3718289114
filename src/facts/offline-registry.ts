// The registry seen by `backoff-guard check --offline`: every call fails as "network" without
// touching the network, so the facts layer answers what it can from shipped data (the Docker
// Official Images list) and reports the rest as not verified.
import type { ManifestDescriptor, ManifestRef, RepoRef } from '../registry/client.js';
import { RegistryError } from '../registry/errors.js';

export class OfflineRegistry {
  async headManifest(ref: ManifestRef): Promise<ManifestDescriptor> {
    throw new RegistryError({ kind: 'network', host: ref.domain, anonymous: true, errno: 'OFFLINE', summary: 'offline mode' });
  }

  async listTags(repo: RepoRef): Promise<string[]> {
    throw new RegistryError({ kind: 'network', host: repo.domain, anonymous: true, errno: 'OFFLINE', summary: 'offline mode' });
  }
}
