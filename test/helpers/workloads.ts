// Builders for the model the checks see (not a test file: excluded from the tap run).
import type { CheckInput, ContainerSpec, WorkloadUnderReview } from '../../src/checks/types.js';
import { extractWorkload } from '../../src/admission/pod-specs.js';

export function podObject(containers: Partial<ContainerSpec>[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'demo', namespace: 'default' },
    spec: { containers: containers.map((c, i) => ({ name: c.name ?? `c${i}`, ...c })), ...extra },
  };
}

export function deploymentObject(containers: Partial<ContainerSpec>[], podExtra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'demo', namespace: 'default' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'demo' } },
      template: {
        metadata: { labels: { app: 'demo' } },
        spec: { containers: containers.map((c, i) => ({ name: c.name ?? `c${i}`, ...c })), ...podExtra },
      },
    },
  };
}

/** The CheckInput of container 0 of a workload object. */
export function inputFor(kind: string, object: Record<string, unknown>, index = 0): CheckInput {
  const workload = extractWorkload(kind, object) as WorkloadUnderReview;
  return { workload, target: workload.containers[index]!, signal: new AbortController().signal };
}
