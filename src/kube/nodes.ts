// The images the nodes already hold (Node.status.images, `list` on nodes), for the node-cache
// rule: an image the registry lacks still starts, with pull policy IfNotPresent, on the nodes
// that have it. One list per TTL (cached, single-flight), deadline-aware. The kubelet reports
// at most 50 images per node (--node-status-max-images), so absence is never proof.
import type { CoreV1Api } from '@kubernetes/client-node';
import { apiFailure, untilAborted } from './secrets.js';

export type NodeImagesRead =
  | {
      status: 'found';
      /** Every node's image names (repo:tag and repo@digest, as the runtime reports them), and its architecture. */
      nodes: Array<{ name: string; images: Set<string>; architecture?: string }>;
    }
  | { status: 'unknown'; reason: string };

export type NodeImagesReader = (signal: AbortSignal) => Promise<NodeImagesRead>;

export function nodeImagesReader(core: Pick<CoreV1Api, 'listNode'>, opts: { ttlMs: number; now?: () => number }): NodeImagesReader {
  const now = opts.now ?? Date.now;
  let cached: { at: number; value: NodeImagesRead } | undefined;
  let inflight: Promise<NodeImagesRead> | undefined;
  const read = async (): Promise<NodeImagesRead> => {
    try {
      const list = await core.listNode({});
      const nodes = (list.items ?? []).map((n) => {
        // The kubelet sets the kubernetes.io/arch label from its own GOARCH; nodeInfo says the same.
        const architecture = n.metadata?.labels?.['kubernetes.io/arch'] ?? n.status?.nodeInfo?.architecture;
        return {
          name: n.metadata?.name ?? '',
          images: new Set((n.status?.images ?? []).flatMap((i) => i.names ?? [])),
          ...(architecture ? { architecture } : {}),
        };
      });
      return { status: 'found', nodes };
    } catch (err) {
      return { status: 'unknown', reason: apiFailure(err) };
    }
  };
  return (signal) => {
    const errorTtl = Math.min(opts.ttlMs, 5000);
    if (cached && now() - cached.at < (cached.value.status === 'found' ? opts.ttlMs : errorTtl)) return Promise.resolve(cached.value);
    inflight ??= read()
      .then((value) => {
        cached = { at: now(), value };
        return value;
      })
      .finally(() => {
        inflight = undefined;
      });
    return untilAborted(inflight, signal, () => ({ status: 'unknown', reason: 'not read within the review deadline' }));
  };
}

/** The distinct architectures of the cluster's nodes, or undefined when they cannot be read. */
export async function clusterArchitectures(read: NodeImagesReader, signal: AbortSignal): Promise<string[] | undefined> {
  const r = await read(signal);
  if (r.status !== 'found') return undefined;
  const archs = [...new Set(r.nodes.flatMap((n) => (n.architecture ? [n.architecture] : [])))].sort();
  return archs.length ? archs : undefined;
}
