// platform: the image must have a build for the architecture of the nodes the pod can land on.
// - An index (multi-platform tag) without a matching manifest: containerd's pull fails with
//   "no match for platform in manifest: not found" (ErrImagePull, then ImagePullBackOff).
// - A single-platform image is pulled whatever its architecture (containerd checks the platform
//   of index entries only); its binaries then die with "exec format error" (CrashLoopBackOff).
// Nodes: the pod's kubernetes.io/arch selector or required affinity (certain), else the
// cluster's Node objects or inspect.nodeArchitectures. With several architectures in the
// cluster and none chosen by the pod, failing on some of them only is a warning.
import { outcome } from './consequence.js';
import { formatPlatform, runsOn } from '../inspect/platform.js';
import { podArchitectures, q, runsOnLinux } from './image-context.js';
import type { CheckPorts, ImageConfigLookup, Platform } from './ports.js';
import type { Check, Finding } from './types.js';

export const ID = 'platform';

const platforms = (ps: readonly Platform[]) => (ps.length ? ps.map(formatPlatform).join(', ') : 'none');

export const platform: Check<CheckPorts> = {
  id: ID,
  description: 'the image must be built for the nodes\' architecture (else "no match for platform in manifest" or "exec format error")',
  async run(input, ports): Promise<Finding[]> {
    if (!ports.inspector || !input.image || !runsOnLinux(input)) return [];
    const nodes = await podArchitectures(input, ports);
    if (nodes.architectures.length === 0) return [];
    const results = new Map<string, ImageConfigLookup>();
    for (const arch of nodes.architectures) results.set(arch, await ports.inspector.config(input.image, arch, input.signal));
    const known = [...results.entries()].filter(([, r]) => r.status !== 'unknown');
    if (known.length === 0) return [];

    const bad: string[] = [];
    let available: Platform[] = [];
    let kind: 'index' | 'single' = 'index';
    for (const [arch, r] of known) {
      if (r.status === 'no-platform') {
        bad.push(arch);
        available = r.available;
      } else if (r.status === 'found' && !r.index && r.platform.architecture && !runsOn(r.platform.architecture, arch)) {
        bad.push(arch);
        kind = 'single';
        available = [r.platform];
      }
    }
    if (bad.length === 0) return [];
    const all = bad.length === nodes.architectures.length;
    // Certain only when the nodes' architectures are known (the pod's selector or the Node
    // objects); inspect.nodeArchitectures may be a default nobody set for this cluster.
    const certainty: Finding['certainty'] = all && nodes.source !== 'config' ? 'certain' : 'likely';
    const img = q(input.image.original);
    const where =
      nodes.source === 'pod'
        ? `the pod is scheduled to ${bad.map((a) => `linux/${a}`).join(', ')} nodes`
        : nodes.source === 'cluster'
          ? all
            ? `the cluster's nodes are ${bad.map((a) => `linux/${a}`).join(', ')}`
            : `the pod may land on the cluster's ${bad.map((a) => `linux/${a}`).join(', ')} nodes`
          : `the nodes are ${bad.map((a) => `linux/${a}`).join(', ')} (inspect.nodeArchitectures)`;
    const pin = available[0] ? `; or pin the pod with nodeSelector kubernetes.io/arch: ${available[0].architecture}` : '';
    const pulls = outcome(input, 'pull').text;
    // runc execs the program after the container started: the process dies with status 1.
    const dies = outcome(input, 'error').text;
    const selector = `nodeSelector kubernetes.io/arch: ${available[0]?.architecture ?? 'amd64'}`;
    const [message, fix] = !all
      ? kind === 'index'
        ? [`the image has no ${bad.map((a) => `linux/${a}`).join(', ')} build (it offers ${platforms(available)}): on such nodes the pull fails with "no match for platform in manifest: not found" (${pulls})`, selector]
        : [`the image is built for ${platforms(available)} only: on the cluster's ${bad.join(', ')} nodes its programs fail with "exec format error" (${dies})`, selector]
      : kind === 'index'
        ? [`the image has no build for ${bad.map((a) => `linux/${a}`).join(', ')} (it offers ${platforms(available)}) and ${where}: the pull fails with "no match for platform in manifest: not found" (${pulls})`, `use a tag built for ${bad.join(', ')}${pin}`]
        : [`the image is built for ${platforms(available)} only and ${where}: its programs fail with "exec format error" (${dies})`, `use a multi-platform tag or a build for ${bad.join(', ')}${pin}`];
    return [{ checkId: ID, container: input.target.container.name, certainty, message, fix, detail: `image ${img}` }];
  },
};
