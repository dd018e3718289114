// memory-limit: a memory limit too small for the container to even start. The runtime puts the
// container's init process in a cgroup capped at the limit; below a few MiB runc's own init is
// killed before the program starts: "container init was OOM-killed (memory limit too low?)"
// (runc libcontainer/process_linux.go; StartError, exit code 128, then CrashLoopBackOff). Docker
// refuses any limit under 6 MiB for the same reason ("Minimum memory limit allowed is 6MB").
// Below 16 MiB most programs are OOMKilled as soon as they load: a warning.
import { outcome } from './consequence.js';
import { q } from './image-context.js';
import type { Check, Finding } from './types.js';

export const ID = 'memory-limit';

const MIB = 1024 * 1024;
export const MIN_MEMORY_BYTES = 6 * MIB;
export const SMALL_MEMORY_BYTES = 16 * MIB;

const SUFFIX: Readonly<Record<string, number>> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes resource.Quantity ("64Mi", "1G", "1e6", "500m", 1048576) in base units. */
export function parseQuantity(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[2]) return n * 10 ** Number(m[2].slice(1));
  return n * SUFFIX[m[3] ?? '']!;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export const memoryLimit: Check = {
  id: ID,
  description: 'a memory limit below 6 MiB cannot start a container; below 16 MiB it is OOMKilled at start',
  run(input): Finding[] {
    const c = input.target.container;
    const limits = isObj(c.resources?.limits) ? c.resources.limits : undefined;
    const raw = limits?.memory;
    const bytes = parseQuantity(raw);
    if (bytes === undefined || bytes <= 0 || bytes >= SMALL_MEMORY_BYTES) return [];
    const shown = q(String(raw));
    const milli = /^(\d+(?:\.\d+)?)m$/.exec(String(raw));
    const hint = milli ? ` (${shown} means ${milli[1]} thousandths of a byte: write "${milli[1]}Mi")` : '';
    if (bytes < MIN_MEMORY_BYTES) {
      return [
        {
          checkId: ID,
          container: c.name,
          certainty: 'certain',
          message: `memory limit ${shown} is below the 6 MiB a container needs to start: the runtime fails with "container init was OOM-killed (memory limit too low?)" (${outcome(input, 'start').text})`,
          fix: `raise resources.limits.memory${hint || ' (e.g. "64Mi")'}`,
        },
      ];
    }
    return [
      {
        checkId: ID,
        container: c.name,
        certainty: 'likely',
        message: `memory limit ${shown} is below 16 MiB: most programs are OOM-killed as they start (${outcome(input, 'oom').text})`,
        fix: 'raise resources.limits.memory to what the program needs (e.g. "64Mi")',
      },
    ];
  },
};
