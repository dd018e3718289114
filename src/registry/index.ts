// Public surface of the registry client. Usable on its own: nothing here knows about
// admission, Kubernetes or HTTP servers.
export {
  RegistryClient,
  DEFAULT_TIMEOUT_MS,
  MAX_MANIFEST_BYTES,
  MAX_BLOB_BYTES,
  type RegistryClientOptions,
  type RegistryHostConfig,
  type RegistryMirrorConfig,
  type RegistryEndpointConfig,
  type RateLimitInfo,
  type RepoRef,
  type ManifestRef,
  type ManifestDescriptor,
  type CallOptions,
  type GetBlobOptions,
  type ListTagsOptions,
} from './client.js';
export type { Credential } from './token.js';
export { RegistryError, type RegistryErrorKind } from './errors.js';
export { parseWWWAuthenticate, selectChallenge, type Challenge } from './challenge.js';
export { isDockerHub, isCountedPull, requestKind, type RequestKind } from './pull-cost.js';
export type { RequestEvent } from './transport.js';
export { blockedReason, type BlockReason } from './guard.js';
export * as mediaTypes from './media-types.js';
