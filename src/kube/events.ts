// Warning Events on a workload (events.k8s.io/v1), so that `kubectl describe` and
// `kubectl get events` show what the audit found. Fields and limits follow the API server's
// validation of events.k8s.io/v1 (pkg/apis/core/validation/events.go in v1.20): eventTime,
// reportingController, reportingInstance, action and reason are required; note at most 1024
// bytes; reason, action and reportingInstance at most 128 characters.
// Name as client-go's tools/events (event_broadcaster.go): <regarding name>.<time in hex>.
import { EventsV1Api, type KubeConfig, V1MicroTime } from '@kubernetes/client-node';
import { apiStatus, unreachableReason } from './secrets.js';

export interface WorkloadRef {
  kind: string;
  apiVersion: string;
  namespace: string;
  name: string;
  uid: string;
}

export type WarnResult = { ok: true; name: string } | { ok: false; reason: string };

export const REPORTING_CONTROLLER = 'backoff-guard.io/audit';
const NOTE_LIMIT_BYTES = 1024;
const SHORT_LIMIT = 128;

/** `s` cut to at most `limit` UTF-8 bytes, never inside a character. */
export function truncateUtf8(s: string, limit: number): string {
  if (Buffer.byteLength(s, 'utf8') <= limit) return s;
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > limit) break;
    out += ch;
    bytes += n;
  }
  return out;
}

function eventFailure(err: unknown): string {
  const code = apiStatus(err);
  if (code === 403) return 'forbidden (the service account needs create on events.events.k8s.io)';
  if (code === 401) return 'unauthorized';
  if (code === 404) return 'the namespace does not exist';
  if (code !== undefined) return `the API server answered HTTP ${code}`;
  return unreachableReason(err);
}

export class WorkloadEvents {
  private readonly api: EventsV1Api;
  private readonly identity: string;

  constructor(kc: KubeConfig, identity: string) {
    this.api = kc.makeApiClient(EventsV1Api);
    this.identity = identity.slice(0, SHORT_LIMIT);
  }

  /** Creates a Warning Event regarding `ref`; never throws. */
  async warn(ref: WorkloadRef, reason: string, note: string, action: string): Promise<WarnResult> {
    const now = Date.now();
    // 253 is the DNS subdomain limit for the name; leave room for ".<hex>".
    const name = `${ref.name.slice(0, 230)}.${(BigInt(now) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6))).toString(16)}`;
    try {
      await this.api.createNamespacedEvent({
        namespace: ref.namespace,
        body: {
          apiVersion: 'events.k8s.io/v1',
          kind: 'Event',
          metadata: { name, namespace: ref.namespace },
          // V1MicroTime serializes with the six fractional digits MicroTime's JSON form requires.
          eventTime: new V1MicroTime(now),
          type: 'Warning',
          reason: reason.slice(0, SHORT_LIMIT),
          action: action.slice(0, SHORT_LIMIT),
          note: truncateUtf8(note, NOTE_LIMIT_BYTES),
          reportingController: REPORTING_CONTROLLER,
          reportingInstance: this.identity,
          regarding: { kind: ref.kind, apiVersion: ref.apiVersion, namespace: ref.namespace, name: ref.name, uid: ref.uid },
        },
      });
      return { ok: true, name };
    } catch (err) {
      return { ok: false, reason: eventFailure(err) };
    }
  }
}
