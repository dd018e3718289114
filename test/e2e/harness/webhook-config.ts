// The ValidatingWebhookConfiguration the tests register, built from the same file the Helm
// chart reads (charts/backoff-guard/files/webhook.yaml), so the two cannot drift: only the
// clientConfig differs (a loopback URL here, the Service in the chart).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from './cluster.js';

export const WEBHOOK_DEFINITION_FILE = join(REPO_ROOT, 'charts/backoff-guard/files/webhook.yaml');

export type WebhookDefinition = Record<string, unknown> & { name: string };

/** The chart's per-webhook fields, parsed as YAML 1.1 like Helm does (so `off` unquoted would show). */
export function loadWebhookDefinition(file = WEBHOOK_DEFINITION_FILE): WebhookDefinition {
  const doc: unknown = parse(readFileSync(file, 'utf8'), { version: '1.1' });
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || typeof (doc as { name?: unknown }).name !== 'string') {
    throw new Error(`${file}: expected one webhook object with a name`);
  }
  if ('clientConfig' in doc) throw new Error(`${file}: clientConfig belongs to the chart template / the test harness, not here`);
  return doc as WebhookDefinition;
}

export interface WebhookConfigurationOptions {
  /** https://127.0.0.1:<port>/validate */
  url: string;
  /** PEM of the CA that signed the webhook's serving certificate. */
  caPem: string;
  /** metadata.name of the ValidatingWebhookConfiguration. */
  name?: string;
  /** Per-webhook fields to override (e.g. failurePolicy) on top of the chart's definition. */
  overrides?: Record<string, unknown>;
}

export function buildValidatingWebhookConfiguration(opts: WebhookConfigurationOptions): Record<string, unknown> {
  const def = loadWebhookDefinition();
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: opts.name ?? 'backoff-guard', labels: { 'app.kubernetes.io/name': 'backoff-guard' } },
    webhooks: [
      {
        ...def,
        ...(opts.overrides ?? {}),
        clientConfig: { url: opts.url, caBundle: Buffer.from(opts.caPem).toString('base64') },
      },
    ],
  };
}
