// Which mode applies to a request, and which checks a workload opts out of.
// Namespace label in the style of Pod Security Admission (pod-security.kubernetes.io/enforce):
//   backoff-guard.io/mode: enforce | warn | off
// Workload annotation (on the workload or its pod template):
//   backoff-guard.io/skip-checks: "image-exists,command-sanity"
import type { Config, Mode } from '../config/schema.js';

export type PolicyConfig = Pick<Config['admission'], 'defaultMode' | 'exemptNamespaces' | 'namespaceModeLabel' | 'skipChecksAnnotation'>;

export interface ModeDecision {
  mode: Mode;
  /** Why, for the log: 'default', 'namespace-label', 'exempt-namespace', 'invalid-label'. */
  source: 'default' | 'namespace-label' | 'exempt-namespace' | 'invalid-label';
}

const MODES: ReadonlySet<string> = new Set(['enforce', 'warn', 'off']);

export function isExempt(namespace: string | undefined, cfg: PolicyConfig): boolean {
  return namespace !== undefined && cfg.exemptNamespaces.includes(namespace);
}

/** The mode for a namespace given its labels (undefined when they could not be read). */
export function modeFor(namespace: string | undefined, labels: Readonly<Record<string, string>> | undefined, cfg: PolicyConfig): ModeDecision {
  if (isExempt(namespace, cfg)) return { mode: 'off', source: 'exempt-namespace' };
  const value = labels?.[cfg.namespaceModeLabel];
  if (value === undefined) return { mode: cfg.defaultMode, source: 'default' };
  const v = value.trim().toLowerCase();
  if (MODES.has(v)) return { mode: v as Mode, source: 'namespace-label' };
  return { mode: cfg.defaultMode, source: 'invalid-label' };
}

/** Check ids listed in the skip annotation ("a, b c"), or "*" / "all" for every check. */
export function skippedChecks(annotations: Readonly<Record<string, string>>, cfg: PolicyConfig, allIds: readonly string[]): Set<string> {
  const raw = annotations[cfg.skipChecksAnnotation];
  if (!raw) return new Set();
  const ids = raw.split(/[\s,]+/).map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (ids.includes('*') || ids.includes('all')) return new Set(allIds);
  return new Set(ids);
}
