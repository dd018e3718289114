// The three objects one Deployment rollout sends to admission, as the controllers make them:
// the Deployment, the ReplicaSet it creates (labelled with the pod template's hash and owned by
// the Deployment), and a Pod of that ReplicaSet (same template, owned by it).
// Not a test file: excluded from the tap run.
import { reviewFor } from '../../src/admission/review.js';
import type { AdmissionReviewRequest } from '../../src/admission/review.js';

export function rolloutReviews(image: string, opts: { name?: string; hash?: string; command?: string[] } = {}): { deployment: AdmissionReviewRequest; replicaSet: AdmissionReviewRequest; pod: AdmissionReviewRequest } {
  const name = opts.name ?? 'web';
  const hash = opts.hash ?? '5d8f7c6b9';
  const container = { name: 'app', image, ...(opts.command ? { command: opts.command } : {}) };
  const template = (labels: Record<string, string>) => ({ metadata: { labels }, spec: { containers: [container] } });
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default', uid: `${name}-deploy-uid` },
    spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: template({ app: name }) },
  };
  const rsName = `${name}-${hash}`;
  const replicaSet = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: rsName,
      namespace: 'default',
      uid: `${rsName}-uid`,
      labels: { app: name, 'pod-template-hash': hash },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: `${name}-deploy-uid`, controller: true }],
    },
    spec: { replicas: 2, selector: { matchLabels: { app: name, 'pod-template-hash': hash } }, template: template({ app: name, 'pod-template-hash': hash }) },
  };
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${rsName}-`,
      namespace: 'default',
      labels: { app: name, 'pod-template-hash': hash },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rsName, uid: `${rsName}-uid`, controller: true }],
    },
    spec: { containers: [container] },
  };
  return { deployment: reviewFor(deployment), replicaSet: reviewFor(replicaSet), pod: reviewFor(pod) };
}

/** The manifest requests of an nginx access log written with `log_format calls '$request_method $uri $status'`. */
export function manifestRequests(log: string): { method: string; uri: string; status: string }[] {
  return log
    .split('\n')
    .filter((l) => l.includes('/manifests/'))
    .map((l) => {
      const [method = '', uri = '', status = ''] = l.split(' ');
      return { method, uri, status };
    });
}

/** An nginx server block in front of a TLS registry that logs every call and sends Docker Hub's quota headers. */
export function quotaProxy(opts: { port: number; registryPort: number; certFile: string; keyFile: string; accessLog: string; remaining: number; limit?: number; windowS?: number }): string {
  const w = opts.windowS ?? 3600;
  return `
  log_format calls '$request_method $uri $status';
  server {
    listen 127.0.0.1:${opts.port} ssl;
    ssl_certificate ${opts.certFile};
    ssl_certificate_key ${opts.keyFile};
    access_log ${opts.accessLog} calls;
    location ~ /manifests/ {
      add_header ratelimit-limit "${opts.limit ?? 10};w=${w}" always;
      add_header ratelimit-remaining "${opts.remaining};w=${w}" always;
      proxy_pass https://127.0.0.1:${opts.registryPort};
      proxy_set_header Host $http_host;
      proxy_ssl_verify off;
    }
    location / {
      proxy_pass https://127.0.0.1:${opts.registryPort};
      proxy_set_header Host $http_host;
      proxy_ssl_verify off;
    }
  }`;
}
