// Helpers shared by the image-aware checks (issue 5): where the pod will run (node
// architectures), which image config the node will use, and the argv the runtime will build.
// Pure: facts come through the ports.
import type { CheckPorts, ImageConfigLookup, ImageRuntimeConfig } from './ports.js';
import type { CheckInput, ContainerSpec } from './types.js';

export const ARCH_LABEL = 'kubernetes.io/arch';
const BETA_ARCH_LABEL = 'beta.kubernetes.io/arch';
const OS_LABEL = 'kubernetes.io/os';

export interface PodArchitectures {
  architectures: string[];
  /** 'pod': its nodeSelector or required node affinity; 'cluster': the Node objects; 'config': inspect.nodeArchitectures. */
  source: 'pod' | 'cluster' | 'config';
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The architectures allowed by the pod's required node affinity: terms are ORed, expressions
 * ANDed (core/v1 NodeSelector). undefined when some term does not constrain the architecture.
 */
function affinityArchitectures(affinity: Obj | undefined, universe: readonly string[]): string[] | undefined {
  const required = isObj(affinity?.nodeAffinity) ? (affinity.nodeAffinity as Obj).requiredDuringSchedulingIgnoredDuringExecution : undefined;
  if (!isObj(required) || !Array.isArray(required.nodeSelectorTerms) || required.nodeSelectorTerms.length === 0) return undefined;
  const union = new Set<string>();
  for (const term of required.nodeSelectorTerms) {
    let allowed: Set<string> | undefined;
    const exprs = isObj(term) && Array.isArray(term.matchExpressions) ? term.matchExpressions : [];
    for (const e of exprs) {
      if (!isObj(e) || (e.key !== ARCH_LABEL && e.key !== BETA_ARCH_LABEL)) continue;
      const values = Array.isArray(e.values) ? e.values.map(text) : [];
      let set: Set<string>;
      if (e.operator === 'In') set = new Set(values);
      else if (e.operator === 'NotIn') set = new Set(universe.filter((a) => !values.includes(a)));
      else if (e.operator === 'DoesNotExist') set = new Set();
      else continue; // Exists: any architecture
      allowed = allowed ? new Set([...allowed].filter((a) => set.has(a))) : set;
    }
    if (!allowed) return undefined; // this term lets the pod go anywhere
    for (const a of allowed) union.add(a);
  }
  return [...union];
}

/** Architectures a generic NotIn is read against when the cluster's are unknown. */
const KNOWN_ARCHITECTURES = ['amd64', 'arm64', 'arm', 'ppc64le', 's390x', '386', 'riscv64'];

/** Where the pod can run, best known source first. */
export async function podArchitectures(input: CheckInput, ports: CheckPorts): Promise<PodArchitectures> {
  const spec = input.workload.podSpec;
  const cluster = ports.nodeArchitectures ? await ports.nodeArchitectures(input.signal) : { architectures: ['amd64'], source: 'config' as const };
  const selected = spec.nodeSelector[ARCH_LABEL] ?? spec.nodeSelector[BETA_ARCH_LABEL];
  const fromAffinity = affinityArchitectures(spec.affinity, cluster.architectures.length ? [...new Set([...cluster.architectures, ...KNOWN_ARCHITECTURES])] : KNOWN_ARCHITECTURES);
  if (selected !== undefined || fromAffinity !== undefined) {
    let archs = selected !== undefined ? [selected] : fromAffinity!;
    if (selected !== undefined && fromAffinity !== undefined) archs = archs.filter((a) => fromAffinity.includes(a));
    return { architectures: archs, source: 'pod' };
  }
  return { architectures: cluster.architectures.length ? cluster.architectures : ['amd64'], source: cluster.source };
}

/** Pods pinned to non-Linux nodes are not judged by these checks. */
export function runsOnLinux(input: CheckInput): boolean {
  const os = input.workload.podSpec.nodeSelector[OS_LABEL];
  return os === undefined || os === 'linux';
}

export type FoundConfig = Extract<ImageConfigLookup, { status: 'found' }>;

/**
 * The image config a node of the pod's first workable architecture uses, or undefined when it
 * cannot be told (no inspector, unparsable image, registry trouble: image-exists reports those).
 */
export async function imageConfigFor(input: CheckInput, ports: CheckPorts): Promise<{ architecture: string; found: FoundConfig } | undefined> {
  if (!ports.inspector || !input.image || !runsOnLinux(input)) return undefined;
  const { architectures } = await podArchitectures(input, ports);
  for (const architecture of architectures) {
    const lookup = await ports.inspector.config(input.image, architecture, input.signal);
    if (lookup.status === 'found') return { architecture, found: lookup };
    if (lookup.status === 'unknown') return undefined;
  }
  return undefined;
}

export interface EffectiveArgv {
  argv: string[];
  /** Where argv[0] came from, for messages. */
  origin: 'command' | 'args' | 'entrypoint' | 'cmd';
}

/**
 * argv as containerd's CRI plugin builds it (WithProcessArgs): `command` replaces the image
 * ENTRYPOINT and drops its CMD; `args` alone replaces CMD; an ENTRYPOINT of [""] counts as none.
 * (`command: []` reaches the runtime as no command: protobuf does not tell empty from unset.)
 */
export function effectiveArgv(container: Pick<ContainerSpec, 'command' | 'args'>, image: Pick<ImageRuntimeConfig, 'entrypoint' | 'cmd'>): EffectiveArgv {
  const command = container.command ?? [];
  let args = container.args ?? [];
  if (command.length > 0) return { argv: [...command, ...args], origin: 'command' };
  const argsGiven = args.length > 0;
  if (!argsGiven) args = image.cmd ?? [];
  const entrypoint = image.entrypoint && !(image.entrypoint.length === 1 && image.entrypoint[0] === '') ? image.entrypoint : [];
  const argv = [...entrypoint, ...args];
  return { argv, origin: entrypoint.length > 0 ? 'entrypoint' : argsGiven ? 'args' : 'cmd' };
}

/** argv from the pod spec alone, when `command` is set (no image needed). */
export function argvFromSpec(container: Pick<ContainerSpec, 'command' | 'args'>): string[] | undefined {
  return container.command && container.command.length > 0 ? [...container.command, ...(container.args ?? [])] : undefined;
}

/** The container env's literal value of a variable (valueFrom cannot be known), else undefined. */
export function containerEnv(container: ContainerSpec, name: string): string | undefined {
  for (const e of container.env ?? []) if (e.name === name && typeof e.value === 'string') return e.value;
  return undefined;
}

/** PATH the runtime searches: the container's env, else the image's, else containerd's default. */
export function searchPath(container: ContainerSpec, image: Pick<ImageRuntimeConfig, 'env'>): string {
  const fromPod = containerEnv(container, 'PATH');
  if (fromPod !== undefined) return fromPod;
  for (const e of image.env) if (e.startsWith('PATH=')) return e.slice(5);
  // containerd oci.DefaultSpec (defaultUnixEnv)
  return '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
}

/**
 * The directory the process starts in: the container's workingDir, else the image's WORKDIR
 * (kubelet passes workingDir to the runtime, which overrides the image's; exec probes run there too).
 */
export function workingDirOf(container: ContainerSpec, image: Pick<ImageRuntimeConfig, 'workingDir'>): string {
  return container.workingDir || image.workingDir;
}

export const q = (s: string): string => JSON.stringify(s);

/**
 * A value from the object under review as text, never throwing: the CLI reads arbitrary files and
 * String() throws on objects like {"toString": null}.
 */
export function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    return '';
  }
}
export const list = (argv: readonly string[]): string => `[${argv.map(q).join(', ')}]`;
