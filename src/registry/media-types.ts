// Manifest media types a registry may serve for a tag or digest, in the order we prefer them.
// OCI image spec (image-index.md, manifest.md) and Docker Image Manifest V2 Schema 2
// (manifest list + image manifest); schema 1 last, for registries that still hold images
// pushed by very old clients.

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_V1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
export const DOCKER_MANIFEST_V1 = 'application/vnd.docker.distribution.manifest.v1+json';

export const MANIFEST_MEDIA_TYPES = [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST_V2, DOCKER_MANIFEST_V1_SIGNED, DOCKER_MANIFEST_V1] as const;

/**
 * The Accept header for manifest requests. Without the index/list types a registry (Docker
 * Hub, Distribution) resolves a multi-platform tag to a single-platform or schema 1 manifest
 * whose digest is not the one kubelet would pull; the distribution spec leaves the choice to
 * the server, so every type we understand is listed.
 */
export const MANIFEST_ACCEPT = MANIFEST_MEDIA_TYPES.join(', ');
