// A real registry with the issue-5 fixture images, a real registry client and inspector, and
// CheckPorts over them, for the image-aware check tests (not a test file).
import { findingParts } from '../../src/admission/verdict.js';
import type { Test } from 'tap';
import type { CheckPorts, ImageInspector, NodeArchitectures } from '../../src/checks/ports.js';
import type { Check, CheckInput, Finding } from '../../src/checks/types.js';
import { parseReference } from '../../src/image/reference.js';
import { RegistryImageFacts } from '../../src/facts/registry-image-facts.js';
import { RegistryImageInspector } from '../../src/inspect/image-inspector.js';
import { RegistryClient } from '../../src/registry/client.js';
import { pushStandardImages, type StandardImages } from './image-fixtures.js';
import { startRegistry, type TestRegistry } from './registry.js';
import { deploymentObject, inputFor, podObject } from './workloads.js';

export interface ImageWorld {
  reg: TestRegistry;
  images: StandardImages;
  client: RegistryClient;
  inspector: RegistryImageInspector;
  ports(extra?: Partial<CheckPorts>): CheckPorts;
  close(): Promise<void>;
}

export async function imageWorld(opts: { maxBytesPerImage?: number } = {}): Promise<ImageWorld> {
  const reg = await startRegistry({ auth: 'none' });
  const images = await pushStandardImages(reg);
  const client = new RegistryClient({ timeoutMs: 5000, hosts: { [reg.host]: { ca: reg.caPem, allowPrivateNetwork: true } } });
  const inspector = new RegistryImageInspector({ registry: client, maxBytesPerImage: opts.maxBytesPerImage ?? 50_000_000, cacheBytes: 16 * 1024 * 1024 });
  const facts = new RegistryImageFacts({
    registry: client,
    cache: { positiveTtlMs: 60_000, negativeTtlMs: 60_000, errorTtlMs: 1000, maxEntries: 100 },
    credentialsOnNodes: [],
    offlineDockerHubCheck: false,
  });
  return {
    reg,
    images,
    client,
    inspector,
    ports: (extra = {}) => ({ images: facts, inspector, nodeArchitectures: nodes(['amd64']), ...extra }),
    close: async () => {
      await client.close();
      await reg.stop();
    },
  };
}

/** A node-architecture port answering as the cluster would. */
export const nodes = (architectures: string[], source: NodeArchitectures['source'] = 'cluster') => async (): Promise<NodeArchitectures> => ({ architectures, source });

/** An inspector that cannot tell anything (registry down, image too big...). */
export const blindInspector = (reason = 'the registry did not answer in time'): ImageInspector => ({
  config: async () => ({ status: 'unknown', reason }),
  files: async () => ({ status: 'unknown', reason }),
});

/** An inspector that has the config but cannot tell the files. */
export function configOnly(inner: ImageInspector, reason = 'its layers weigh 812 MB, more than inspect.maxBytesPerImage (268 MB)'): ImageInspector {
  return { config: (...a) => inner.config(...a), files: async () => ({ status: 'unknown', reason }) };
}

export type ContainerBits = { name?: string; image?: string; command?: string[]; args?: string[]; [k: string]: unknown };

/** The input of container 0 of a Pod (or another kind) with this container. */
export function podInput(container: ContainerBits, podExtra: Record<string, unknown> = {}, kind = 'Pod'): CheckInput {
  const input = workloadInput(container, podExtra, kind);
  // The runner parses the image once for every check; do the same here.
  return typeof container.image === 'string' ? { ...input, image: parseReference(container.image) } : input;
}

function workloadInput(container: ContainerBits, podExtra: Record<string, unknown>, kind: string): CheckInput {
  const c = { name: 'app', ...container };
  if (kind === 'Pod') return inputFor('Pod', podObject([c], podExtra));
  if (kind === 'Deployment') return inputFor('Deployment', deploymentObject([c], podExtra));
  const obj = deploymentObject([c], podExtra);
  if (kind === 'Job') {
    const spec = (obj['spec'] as { template: { spec: Record<string, unknown> } }).template;
    spec.spec['restartPolicy'] = 'Never';
    return inputFor('Job', { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'demo', namespace: 'default' }, spec: { template: spec } });
  }
  return inputFor(kind, { ...obj, kind });
}

export async function run<P>(check: Check<P>, input: CheckInput, ports: P): Promise<Finding[]> {
  return check.run(input, ports);
}

/** Asserts one finding of this certainty whose message matches every pattern (and is one line). */
/** A finding's words as the deny message prints them: what happens, the fix, the detail. */
export function fullText(f: Finding): string {
  const p = findingParts(f);
  return `${p.what}${p.fix ? `; fix: ${p.fix}` : ''}${p.detail ? ` (${p.detail})` : ''}`;
}

export function expectOne(t: Test, findings: Finding[], certainty: Finding['certainty'], ...patterns: (RegExp | string)[]): Finding | undefined {
  t.equal(findings.length, 1, `one finding: ${JSON.stringify(findings.map((f) => f.message))}`);
  const f = findings[0];
  if (!f) return undefined;
  t.equal(f.certainty, certainty, 'certainty');
  t.notMatch(f.message, /\n/, 'one line');
  const text = fullText(f);
  for (const p of patterns) t.match(text, p);
  return f;
}
