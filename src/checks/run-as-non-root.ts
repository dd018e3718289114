// run-as-non-root: `runAsNonRoot: true` against the user the image runs as. The kubelet refuses
// to create the container (CreateContainerConfigError, kubelet kuberuntime
// security_context_others.go verifyRunAsNonRoot) when the effective runAsUser is 0, or, without
// runAsUser, when the image user is root: an empty USER (kuberuntime getImageUser: "treat it as
// root"), a numeric uid 0 (containerd getUserFromImage keeps the part before ':'), or a name,
// which cannot be verified at all.
import { outcome } from './consequence.js';
import { imageConfigFor, q } from './image-context.js';
import type { CheckPorts } from './ports.js';
import type { Check, CheckInput, Finding } from './types.js';

export const ID = 'run-as-non-root';

const MAX_INT32 = 2_147_483_647;

/** securitycontext.DetermineEffectiveSecurityContext for the two fields used here. */
function effective(input: CheckInput): { runAsNonRoot?: boolean; runAsUser?: number } {
  const pod = input.workload.podSpec.securityContext ?? {};
  const ctr = input.target.container.securityContext ?? {};
  const pick = <T>(key: string, ok: (v: unknown) => v is T): T | undefined => (ok(ctr[key]) ? ctr[key] : ok(pod[key]) ? pod[key] : undefined);
  const runAsNonRoot = pick('runAsNonRoot', (v): v is boolean => typeof v === 'boolean');
  const runAsUser = pick('runAsUser', (v): v is number => typeof v === 'number' && Number.isInteger(v));
  return { ...(runAsNonRoot !== undefined ? { runAsNonRoot } : {}), ...(runAsUser !== undefined ? { runAsUser } : {}) };
}

/** containerd getUserFromImage: uid, or a user name, from the image's USER. */
export function imageUser(user: string): { uid: number } | { name: string } | { root: true } {
  if (user === '') return { root: true };
  const first = user.split(':')[0]!;
  return /^[+-]?\d+$/.test(first) ? { uid: Number(first) } : { name: first };
}

/** format.Pod: "name_namespace(uid)"; a template's pods get generated names. */
function podName(input: CheckInput): string {
  const w = input.workload;
  const name = w.kind === 'Pod' ? w.name : `${w.name.replace(/\*$/, '')}-…`;
  return `${name}_${w.namespace ?? 'default'}(…)`;
}

export const runAsNonRoot: Check<CheckPorts> = {
  id: ID,
  description: 'runAsNonRoot: true needs a non-zero runAsUser or an image with a numeric non-root USER (else CreateContainerConfigError)',
  async run(input, ports): Promise<Finding[]> {
    const sc = effective(input);
    if (sc.runAsNonRoot !== true) return [];
    const c = input.target.container;
    const where = `(pod: ${q(podName(input))}, container: ${c.name})`;
    const refused = outcome(input, 'create', 'CreateContainerConfigError').text;
    const finding = (message: string, fix: string, detail?: string): Finding[] => [{ checkId: ID, container: c.name, certainty: 'certain', message, fix, ...(detail ? { detail } : {}) }];
    if (sc.runAsUser !== undefined) {
      if (sc.runAsUser !== 0) return [];
      return finding(
        `runAsUser is 0 and runAsNonRoot is true: the kubelet refuses with "container's runAsUser breaks non-root policy" (${refused})`,
        'set runAsUser to a non-zero UID, or drop runAsNonRoot',
        `kubelet: "container's runAsUser breaks non-root policy ${where}"`,
      );
    }
    const image = await imageConfigFor(input, ports);
    if (!image) return [];
    const user = imageUser(image.found.config.user);
    const img = q(input.image!.original);
    const fix = 'set securityContext.runAsUser: 1000 (any non-zero UID), or use an image with a numeric non-root USER';
    if ('root' in user || ('uid' in user && user.uid === 0)) {
      const why = 'root' in user ? 'sets no USER, so it runs as root' : `runs as USER ${q(image.found.config.user)}`;
      return finding(
        `the image ${why} and runAsNonRoot is true: the kubelet refuses with "container has runAsNonRoot and image will run as root" (${refused})`,
        fix,
        `kubelet: "container has runAsNonRoot and image will run as root ${where}"; image ${img}`,
      );
    }
    if ('name' in user) {
      return finding(
        `the image's USER ${q(user.name)} is not numeric and runAsNonRoot is true: the kubelet refuses with "container has runAsNonRoot and image has non-numeric user (${user.name}), cannot verify user is non-root" (${refused})`,
        fix,
        `kubelet: "… ${where}"; image ${img}`,
      );
    }
    if (user.uid < 0 || user.uid > MAX_INT32) {
      return finding(
        `the image's USER ${user.uid} is not a valid user id and runAsNonRoot is true: the kubelet refuses with "container has runAsNonRoot and image has an invalid user id (${user.uid})" (${refused})`,
        fix,
        `kubelet: "… ${where}"; image ${img}`,
      );
    }
    return [];
  },
};
