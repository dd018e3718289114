// config-refs: ConfigMaps and Secrets the pod needs must exist in its namespace (with the keys
// it names), unless marked optional. Missing ones leave the container in
// CreateContainerConfigError (env: kubelet kubelet_pods.go makeEnvironmentVariables:
// `configmap "x" not found`, `couldn't find key K in ConfigMap ns/x`) or the pod stuck in
// ContainerCreating (volumes: `MountVolume.SetUp failed for volume "v" : configmap "x" not
// found`). A warning only: `kubectl apply -f dir/` creates the ConfigMap and the Deployment in
// one go, in an order the webhook cannot see, and the pod starts once the object appears.
import { outcome } from './consequence.js';
import { q, text } from './image-context.js';
import type { CheckPorts, NamespacedObjectLookup } from './ports.js';
import type { Check, Finding } from './types.js';

export const ID = 'config-refs';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

type Kind = 'ConfigMap' | 'Secret';

interface Ref {
  kind: Kind;
  name: string;
  /** Keys that must be present (env valueFrom, volume items). */
  keys: string[];
  /** What refers to it, for messages: 'env DB_URL', 'envFrom', 'volume "cfg"'. */
  by: string;
  volume?: string;
}

function refsOf(input: Parameters<Check['run']>[0]): Ref[] {
  const c = input.target.container;
  const refs: Ref[] = [];
  for (const e of c.env ?? []) {
    const from = isObj(e.valueFrom) ? e.valueFrom : undefined;
    for (const [field, kind] of [['configMapKeyRef', 'ConfigMap'], ['secretKeyRef', 'Secret']] as const) {
      const r = from?.[field];
      if (isObj(r) && typeof r.name === 'string' && r.optional !== true) {
        refs.push({ kind, name: r.name, keys: typeof r.key === 'string' ? [r.key] : [], by: `env ${text(e.name)}` });
      }
    }
  }
  for (const e of c.envFrom ?? []) {
    for (const [field, kind] of [['configMapRef', 'ConfigMap'], ['secretRef', 'Secret']] as const) {
      const r = e[field];
      if (isObj(r) && typeof r.name === 'string' && r.optional !== true) refs.push({ kind, name: r.name, keys: [], by: 'envFrom' });
    }
  }
  // Volumes belong to the pod: reported once, with its first container.
  if (input.workload.containers[0] === input.target) {
    for (const v of input.workload.podSpec.volumes ?? []) {
      const vname = text(v.name ?? '');
      const sources: Array<[Obj, Kind]> = [];
      if (isObj(v.configMap)) sources.push([v.configMap, 'ConfigMap']);
      if (isObj(v.secret)) sources.push([{ ...v.secret, name: v.secret.secretName }, 'Secret']);
      if (isObj(v.projected) && Array.isArray(v.projected.sources)) {
        for (const s of v.projected.sources) {
          if (isObj(s) && isObj(s.configMap)) sources.push([s.configMap, 'ConfigMap']);
          if (isObj(s) && isObj(s.secret)) sources.push([s.secret, 'Secret']);
        }
      }
      for (const [src, kind] of sources) {
        if (typeof src.name !== 'string' || src.optional === true) continue;
        const keys = Array.isArray(src.items) ? src.items.flatMap((i) => (isObj(i) && typeof i.key === 'string' ? [i.key] : [])) : [];
        refs.push({ kind, name: src.name, keys, by: `volume ${q(vname)}`, volume: vname });
      }
    }
  }
  return refs;
}

export const configRefs: Check<CheckPorts> = {
  id: ID,
  description: 'ConfigMaps and Secrets used by env, envFrom and volumes should exist (else CreateContainerConfigError or ContainerCreating); warning only',
  async run(input, ports): Promise<Finding[]> {
    const objects = ports.objects;
    const namespace = input.workload.namespace;
    if (!objects || !namespace) return [];
    const refs = refsOf(input);
    if (refs.length === 0) return [];
    const cache = new Map<string, Promise<NamespacedObjectLookup>>();
    const lookup = (r: Ref) => {
      const key = `${r.kind}/${r.name}`;
      let p = cache.get(key);
      if (!p) {
        p = r.kind === 'ConfigMap' ? objects.configMap(namespace, r.name, input.signal) : objects.secret(namespace, r.name, input.signal);
        cache.set(key, p);
      }
      return p;
    };
    const out: Finding[] = [];
    const c = input.target.container;
    const refused = (words: string): string => outcome(input, 'create', `CreateContainerConfigError (${words})`).text;
    for (const r of refs) {
      const found = await lookup(r);
      if (found.status === 'unknown') continue;
      const lower = r.kind === 'ConfigMap' ? 'configmap' : 'secret';
      if (found.status === 'missing') {
        const effect = r.volume ? `the pod stays ContainerCreating (MountVolume.SetUp failed: ${lower} ${q(r.name)} not found) until it exists` : refused(`${lower} ${q(r.name)} not found`);
        out.push({ checkId: ID, container: c.name, certainty: 'likely', message: `${r.kind} ${q(r.name)} (${r.by}) is not in namespace ${q(namespace)}: ${effect}`, fix: 'create it first, or mark it optional' });
        continue;
      }
      const missingKeys = r.keys.filter((k) => !found.keys.includes(k));
      if (missingKeys.length > 0) {
        const k = missingKeys[0]!;
        const effect = r.volume
          ? `the pod stays ContainerCreating (MountVolume.SetUp failed: ${r.kind === 'ConfigMap' ? 'configmap references non-existent config key' : 'references non-existent secret key'}: ${k})`
          : refused(`couldn't find key ${k} in ${r.kind} ${namespace}/${r.name}`);
        out.push({ checkId: ID, container: c.name, certainty: 'likely', message: `${r.kind} ${q(r.name)} has no key ${q(k)} (${r.by}): ${effect}`, fix: 'add the key or correct its name' });
      }
    }
    return out;
  },
};
