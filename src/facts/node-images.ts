// NodeImages over a node list reader (src/kube/nodes.ts): how many nodes already hold an image,
// by the names the runtime reports in Node.status.images ("docker.io/library/nginx:1.14.2",
// "docker.io/library/nginx@sha256:..."). The kubelet lists at most 50 images per node, so the
// count is a lower bound.
import type { NodeImagePresence, NodeImages } from '../checks/ports.js';
import type { ImageReference } from '../image/reference.js';

export type NodeListResult = { status: 'found'; nodes: Array<{ name: string; images: Set<string> }> } | { status: 'unknown'; reason: string };

export class ClusterNodeImages implements NodeImages {
  constructor(private readonly list: (signal: AbortSignal) => Promise<NodeListResult>) {}

  async presence(ref: ImageReference, signal: AbortSignal): Promise<NodeImagePresence | undefined> {
    const r = await this.list(signal);
    if (r.status !== 'found' || r.nodes.length === 0) return undefined;
    // A digest reference is held as name@digest; a tag as name:tag.
    const wanted = ref.digest ? `${ref.name}@${ref.digest}` : `${ref.name}:${ref.tag ?? 'latest'}`;
    const withImage = r.nodes.filter((n) => n.images.has(wanted)).length;
    return { nodes: r.nodes.length, withImage };
  }
}
