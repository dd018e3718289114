// Property-based tests of everything an AdmissionReview goes through (fast-check, seeded and
// reproducible), 10,000 generated inputs per target:
//   1. extractWorkload (pod-specs.ts, "nothing here throws") on any kind and any object;
//   2. handleReview over the engine in offline mode: never throws, echoes the uid, and no check
//      throws either (a throw would turn into a "failed inside backoff-guard" warning);
//   3. the HTTP route through app.server.inject() (createApp, no TLS): always a 400-family
//      answer with a one-line reason, or HTTP 200 with a valid AdmissionReview carrying the
//      request's uid; never a 500, never the fail-open "internal error" path; and nothing in
//      the process gets polluted (Object.prototype).
// Inputs: pod specs where any field may have the wrong type, arbitrary unicode, huge strings,
// deep nesting, and own properties named __proto__, constructor, prototype, toString, valueOf...
// Replay a failure with FUZZ_SEED=<seed> (the printed counterexample names it).
import t from 'tap';
import fc from 'fast-check';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { handleReview } from '../../src/admission/handle-review.js';
import { extractWorkload } from '../../src/admission/pod-specs.js';
import type { AdmissionReviewRequest } from '../../src/admission/review.js';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { createEngine } from '../../src/engine.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20_260_707);
const RUNS = 10_000;
const TIME_LIMIT_MS = 45_000;
const runOpts = { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false } as const;

// ---- generators ----

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'toJSON', 'then', 'length'];
const KINDS = ['Pod', 'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicationController'];

const text = fc.oneof(
  { weight: 8, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 3, arbitrary: fc.constantFrom(...PROTO_KEYS, '', ' ', '\n', 'sh', 'bash', '/bin/sh', 'exit', 'cd', 'true', 'echo', 'sleep', '-c', 'exit 1', 'sleep 5', 'if', '🙂', '\u0000', '\u2028') },
  { weight: 1, arbitrary: fc.oneof(fc.integer({ min: 10, max: 2_000 }), fc.integer({ min: 10, max: 2_000 }), fc.integer({ min: 10, max: 60_000 })).map((n) => 'x'.repeat(n)) },
);
const image = fc.oneof(
  fc.constantFrom('nginx:1.14.2', 'nginx', 'ngiinx:1.14.2', 'busybox:1.36', 'docker.io/library/alpine:3', 'localhost:5000/a/b:1', '127.0.0.1:1/x', 'quay.io/a/b@sha256:' + 'a'.repeat(64), 'NGINX', 'nginx:', '', ' nginx', 'gcr.io/x/y:z', '__proto__', 'constructor:latest'),
  text,
);
const quantity = fc.oneof(fc.constantFrom('64Mi', '1Gi', '0', '5Mi', '100m', '1e3', '1E', 'Infinity', 'NaN', '-1', '0.5Gi', '12345678901234567890Ki', '1Pi', '', '1.5.5Mi'), fc.integer(), fc.double(), text);

/** Values of every JSON type, nested, with prototype-ish keys; depth bounded by fast-check. */
const weird: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  text,
  fc.array(fc.oneof(fc.integer(), text, fc.constant(null)), { maxLength: 4 }),
  fc.dictionary(fc.oneof(text, fc.constantFrom(...PROTO_KEYS)), fc.oneof(fc.integer(), text, fc.constant(null), fc.array(fc.integer(), { maxLength: 2 })), { maxKeys: 4 }),
);
/** Mostly the right shape, sometimes anything at all. */
const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 5, arbitrary: arb }, { weight: 1, arbitrary: weird });
const optional = { requiredKeys: [] as never[] };
const list = <T>(arb: fc.Arbitrary<T>, maxLength = 3) => maybe(fc.array(maybe(arb), { maxLength }));

const probe = fc.record(
  {
    exec: maybe(fc.record({ command: list(text) }, optional)),
    httpGet: maybe(fc.record({ port: maybe(fc.oneof(fc.integer({ min: -1, max: 70_000 }), text)), path: maybe(text) }, optional)),
    tcpSocket: maybe(fc.record({ port: maybe(fc.oneof(fc.integer({ min: -1, max: 70_000 }), text)) }, optional)),
    grpc: maybe(fc.record({ port: maybe(fc.integer()) }, optional)),
    initialDelaySeconds: maybe(fc.integer()),
  },
  optional,
);
const container = fc.record(
  {
    name: maybe(text),
    image: maybe(image),
    command: list(text, 4),
    args: list(text, 4),
    imagePullPolicy: maybe(fc.constantFrom('Always', 'IfNotPresent', 'Never')),
    restartPolicy: maybe(fc.constantFrom('Always', 'Never')),
    securityContext: maybe(fc.record({ runAsNonRoot: maybe(fc.boolean()), runAsUser: maybe(fc.integer({ min: -1, max: 70_000 })), runAsGroup: maybe(fc.integer()) }, optional)),
    resources: maybe(fc.record({ limits: maybe(fc.record({ memory: maybe(quantity), cpu: maybe(quantity) }, optional)), requests: maybe(fc.record({ memory: maybe(quantity) }, optional)) }, optional)),
    ports: list(fc.record({ containerPort: maybe(fc.integer({ min: -1, max: 70_000 })), name: maybe(text), protocol: maybe(text) }, optional)),
    env: list(
      fc.record(
        {
          name: maybe(text),
          value: maybe(text),
          valueFrom: maybe(fc.record({ configMapKeyRef: maybe(fc.record({ name: maybe(text), key: maybe(text), optional: maybe(fc.boolean()) }, optional)), secretKeyRef: maybe(fc.record({ name: maybe(text), key: maybe(text) }, optional)) }, optional)),
        },
        optional,
      ),
    ),
    envFrom: list(fc.record({ configMapRef: maybe(fc.record({ name: maybe(text) }, optional)), secretRef: maybe(fc.record({ name: maybe(text), optional: maybe(fc.boolean()) }, optional)) }, optional)),
    livenessProbe: maybe(probe),
    readinessProbe: maybe(probe),
    startupProbe: maybe(probe),
    stdin: maybe(fc.boolean()),
    tty: maybe(fc.boolean()),
  },
  optional,
);
const podSpec = fc.record(
  {
    containers: list(container, 3),
    initContainers: list(container, 2),
    ephemeralContainers: list(container, 1),
    restartPolicy: maybe(fc.constantFrom('Always', 'OnFailure', 'Never')),
    securityContext: maybe(fc.record({ runAsNonRoot: maybe(fc.boolean()), runAsUser: maybe(fc.integer()) }, optional)),
    nodeSelector: maybe(fc.dictionary(fc.oneof(fc.constant('kubernetes.io/arch'), text), maybe(fc.constantFrom('amd64', 'arm64', 's390x', '')), { maxKeys: 3 })),
    imagePullSecrets: list(fc.record({ name: maybe(text) }, optional)),
    serviceAccountName: maybe(text),
    affinity: maybe(
      fc.record(
        {
          nodeAffinity: maybe(
            fc.record(
              {
                requiredDuringSchedulingIgnoredDuringExecution: maybe(
                  fc.record({ nodeSelectorTerms: list(fc.record({ matchExpressions: list(fc.record({ key: maybe(fc.oneof(fc.constant('kubernetes.io/arch'), text)), operator: maybe(fc.constantFrom('In', 'NotIn', 'Exists', 'Gt')), values: list(text) }, optional)) }, optional)) }, optional),
                ),
              },
              optional,
            ),
          ),
        },
        optional,
      ),
    ),
    volumes: list(fc.record({ name: maybe(text), configMap: maybe(fc.record({ name: maybe(text), optional: maybe(fc.boolean()), items: list(fc.record({ key: maybe(text) }, optional)) }, optional)), secret: maybe(fc.record({ secretName: maybe(text) }, optional)), projected: maybe(fc.record({ sources: list(weird) }, optional)) }, optional)),
  },
  optional,
);
const metadata = fc.record(
  {
    name: maybe(text),
    namespace: maybe(fc.constantFrom('default', 'kube-system', 'dev', '')),
    annotations: maybe(fc.dictionary(fc.oneof(fc.constant('backoff-guard.io/skip-checks'), text), maybe(fc.oneof(fc.constantFrom('*', 'image-exists', 'command-sanity,image-exists', ''), text)), { maxKeys: 3 })),
    labels: maybe(fc.dictionary(text, maybe(text), { maxKeys: 2 })),
  },
  optional,
);
/** The object under review, shaped for `kind`, with garbage possible at every level. */
const objectFor = (kind: string): fc.Arbitrary<unknown> => {
  const tmpl = fc.record({ metadata: maybe(metadata), spec: maybe(podSpec) }, optional);
  const spec: fc.Arbitrary<unknown> =
    kind === 'Pod'
      ? podSpec
      : kind === 'CronJob'
        ? fc.record({ schedule: maybe(text), jobTemplate: maybe(fc.record({ spec: maybe(fc.record({ template: maybe(tmpl) }, optional)) }, optional)) }, optional)
        : fc.record({ replicas: maybe(fc.integer()), template: maybe(tmpl) }, optional);
  return fc.record({ apiVersion: maybe(text), kind: maybe(fc.constant(kind)), metadata: maybe(metadata), spec: maybe(spec) }, optional);
};

/** Deeply nested arrays/objects (JSON allows any depth; the API server caps the body size, not the depth). */
const deep = fc.tuple(fc.integer({ min: 20, max: 300 }), fc.boolean()).map(([depth, arrays]) => {
  let v: unknown = { image: 'nginx' };
  for (let i = 0; i < depth; i++) v = arrays ? [v] : { spec: { containers: [v] } };
  return v;
});

/**
 * Adds own properties named __proto__, constructor... to some of the objects inside `value`
 * (as JSON.parse creates them: own data properties, not prototype changes).
 */
function withProtoKeys(generated: unknown, picks: Array<[number, string, unknown]>): unknown {
  // fast-check reuses generated values while shrinking: work on a copy, never on them.
  let value: unknown;
  try {
    value = JSON.parse(JSON.stringify(generated) ?? 'null');
  } catch {
    return generated; // nested deeper than JSON.stringify goes: sent as generated, no extra keys
  }
  const objects: Record<string, unknown>[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth > 20 || typeof v !== 'object' || v === null) return;
    if (!Array.isArray(v)) objects.push(v as Record<string, unknown>);
    for (const child of Object.values(v)) walk(child, depth + 1);
  };
  walk(value, 0);
  for (const [at, key, val] of picks) {
    const o = objects.length ? objects[at % objects.length] : undefined;
    if (o) Object.defineProperty(o, key, { value: JSON.parse(JSON.stringify(val) ?? 'null'), enumerable: true, writable: true, configurable: true });
  }
  return value;
}
const protoPicks = fc.array(fc.tuple(fc.nat(), fc.constantFrom(...PROTO_KEYS), fc.oneof(weird, fc.constant({ polluted: 'yes' }), fc.constant({ prototype: { polluted: 'yes' } }))), { maxLength: 3 });

const kindName = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...KINDS) }, { weight: 1, arbitrary: fc.constantFrom('ConfigMap', 'Service', 'Unknown', ...PROTO_KEYS) }, { weight: 1, arbitrary: text });
const objectArb = kindName.chain((kind) =>
  fc.tuple(fc.constant(kind), fc.oneof({ weight: 8, arbitrary: objectFor(KINDS.includes(kind) ? kind : 'Pod') }, { weight: 1, arbitrary: weird }, { weight: 1, arbitrary: deep }), protoPicks),
);

/** An AdmissionReview whose envelope passes the route's schema; the objects are anything. */
const validReview: fc.Arbitrary<AdmissionReviewRequest> = fc
  .record({
    uid: fc.oneof(fc.uuid(), fc.string({ unit: 'binary', minLength: 1, maxLength: 128 }).filter((s) => s.length >= 1 && s.length <= 128), fc.constantFrom(...PROTO_KEYS)),
    main: objectArb,
    old: fc.option(objectArb, { nil: undefined }),
    operation: fc.constantFrom('CREATE', 'CREATE', 'UPDATE', 'UPDATE', 'DELETE', 'CONNECT'),
    namespace: fc.option(fc.oneof(fc.constantFrom('default', 'kube-system', ''), text), { nil: undefined }),
    subResource: fc.option(fc.oneof(fc.constantFrom('', 'status', 'ephemeralcontainers', 'scale'), text), { nil: undefined }),
    dryRun: fc.option(fc.boolean(), { nil: undefined }),
  })
  .map(({ uid, main, old, operation, namespace, subResource, dryRun }) => {
    const [kind, object, picks] = main;
    const request: Record<string, unknown> = {
      uid,
      kind: { group: '', version: 'v1', kind: kind.length ? kind : 'Pod' },
      operation,
      object: typeof object === 'object' && object !== null && !Array.isArray(object) ? withProtoKeys(object, picks) : null,
    };
    if (old) request['oldObject'] = typeof old[1] === 'object' && old[1] !== null && !Array.isArray(old[1]) ? withProtoKeys(old[1], old[2]) : null;
    if (namespace !== undefined) request['namespace'] = namespace;
    if (subResource !== undefined) request['subResource'] = subResource;
    if (dryRun !== undefined) request['dryRun'] = dryRun;
    return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request } as unknown as AdmissionReviewRequest;
  });

// ---- shared state ----

const errorLines: string[] = [];
const logger = pino(
  { level: 'warn' },
  new Writable({
    write(chunk, _enc, cb) {
      if (errorLines.length < 20) errorLines.push(String(chunk).slice(0, 500));
      cb();
    },
  }),
);
const config = loadConfig({ document: { kubernetes: { enabled: 'off' }, log: { level: 'warn' } } });
const prototypeKeysBefore = Object.getOwnPropertyNames(Object.prototype).sort().join(',');

function checkResponse(uid: string, body: unknown): string | undefined {
  const r = body as { apiVersion?: unknown; kind?: unknown; response?: { uid?: unknown; allowed?: unknown; warnings?: unknown; status?: { message?: unknown } } };
  if (r?.apiVersion !== 'admission.k8s.io/v1' || r.kind !== 'AdmissionReview') return 'not an admission.k8s.io/v1 AdmissionReview';
  if (r.response?.uid !== uid) return `uid ${JSON.stringify(r.response?.uid)} is not the request's ${JSON.stringify(uid)}`;
  if (typeof r.response.allowed !== 'boolean') return 'allowed is not a boolean';
  const lines = [...(Array.isArray(r.response.warnings) ? r.response.warnings : []), ...(r.response.status ? [r.response.status.message] : [])];
  for (const w of lines) {
    if (typeof w !== 'string') return 'a warning or message is not a string';
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f\u2028\u2029]/.test(w)) return `a control character in ${JSON.stringify(w).slice(0, 200)}`;
    if (/because of an internal error|failed inside backoff-guard/.test(w)) return `an internal error on this input: ${w.slice(0, 300)}`;
  }
  return undefined;
}

// ---- 1. extractWorkload ----

t.test('extractWorkload never throws, whatever the kind and the object', async (t) => {
  const details = fc.check(
    fc.property(kindName, objectArb, (kind, [, object, picks]) => {
      const o = typeof object === 'object' && object !== null ? withProtoKeys(object, picks) : object;
      const w = extractWorkload(kind, o);
      if (w !== undefined && !Array.isArray(w.containers)) throw new Error('containers is not an array');
    }),
    runOpts,
  );
  t.comment(`${details.numRuns} runs (seed ${SEED})${details.interrupted ? `, interrupted after ${TIME_LIMIT_MS} ms` : ''}`);
  t.notOk(details.failed, details.failed ? `${String((details.errorInstance as Error)?.message ?? details.errorInstance).slice(0, 600)} <- ${String(fc.defaultReportMessage(details))}` : 'no counterexample');
});

// ---- 2. handleReview over the engine, offline ----

t.test('handleReview (engine, offline) never throws, echoes the uid, and no check throws', async (t) => {
  const engine = await createEngine(config, { logger, offline: true, namespaceLabels: null });
  t.teardown(() => engine.close());
  const checkErrors: string[] = [];
  const deps = { ...engine.reviewDeps, onCheckError: (id: string, container: string, err: unknown) => void checkErrors.push(`${id} on container ${JSON.stringify(container).slice(0, 60)}: ${(err as Error)?.stack?.split('\n').slice(0, 3).join(' | ') ?? String(err)}`) };
  let checked = 0;
  let denied = 0;
  let warned = 0;
  const details = await fc.check(
    fc.asyncProperty(validReview, async (review) => {
      checkErrors.length = 0;
      const outcome = await handleReview(review, AbortSignal.timeout(10_000), deps);
      if (outcome.skipped === undefined) checked++;
      const problem = checkResponse(review.request.uid, outcome.response);
      if (problem) throw new Error(problem);
      if (checkErrors.length) throw new Error(`a check threw: ${checkErrors[0]}`);
      if (!outcome.response.response.allowed) denied++;
      else if (outcome.response.response.warnings) warned++;
    }),
    runOpts,
  );
  t.comment(`${details.numRuns} runs (seed ${SEED}): ${checked} went through the checks, ${denied} denied, ${warned} allowed with warnings${details.interrupted ? `, interrupted after ${TIME_LIMIT_MS} ms` : ''}`);
  t.notOk(details.failed, details.failed ? `${String((details.errorInstance as Error)?.message ?? details.errorInstance).slice(0, 600)} <- ${String(fc.defaultReportMessage(details))}` : 'no counterexample');
  t.ok(denied > 100, 'the generators reach denials, not only early allows');
});

// ---- 3. the route, through inject() ----

interface Payload {
  body: string;
  contentType: string | undefined;
  /** The uid when the body is a review whose envelope is valid. */
  uid?: string;
  query: string;
}

/** Raw JSON text with own __proto__ / constructor.prototype keys, as an attacker would send it. */
const poisoned = fc.tuple(validReview, fc.constantFrom('{"__proto__":{"polluted":"yes"}}', '{"constructor":{"prototype":{"polluted":"yes"}}}', '{"__proto__":null}')).map(([review, bad]) => {
  const json = JSON.stringify(review);
  return json.replace('"request":{', `"request":{"x":${bad},`).replace('{"apiVersion"', `{"poison":${bad},"apiVersion"`);
});
const envelopeArb = fc.record(
  {
    apiVersion: fc.oneof(fc.constant('admission.k8s.io/v1'), fc.constant('admission.k8s.io/v1beta1'), weird),
    kind: fc.oneof(fc.constant('AdmissionReview'), weird),
    request: fc.oneof(
      fc.record(
        {
          uid: fc.oneof(fc.uuid(), weird, fc.constant(''), fc.constant('x'.repeat(129))),
          kind: fc.oneof(fc.record({ group: fc.constant(''), version: fc.constant('v1'), kind: fc.constantFrom(...KINDS) }), weird, fc.record({ group: weird, version: weird, kind: weird }, optional)),
          operation: fc.oneof(fc.constantFrom('CREATE', 'UPDATE', 'PATCH', 'create'), weird),
          object: fc.oneof(objectFor('Pod'), weird),
          dryRun: weird,
          namespace: weird,
        },
        optional,
      ),
      weird,
    ),
  },
  optional,
);
const rawText = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.constantFrom('', '{', '{"apiVersion":', 'null', '[]', '"x"', '\ufeff{}', '{"a":1}{"b":2}', '{"a":1e999999}', 'NaN', '{"request":{"uid":"\\ud800"}}'));
const deepText = fc.integer({ min: 1000, max: 100_000 }).map(
  (depth) => `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"deep","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","object":{"spec":{"containers":[{"name":"a","image":"nginx","securityContext":${'['.repeat(depth)}${']'.repeat(depth)}}]}}}}`,
);
/** The body alone, with the uid when it is a review whose envelope is valid. */
const rawBody: fc.Arbitrary<{ body: string; uid?: string }> = fc.oneof(
  { weight: 10, arbitrary: validReview.map((r) => ({ body: JSON.stringify(r), uid: r.request.uid })) },
  { weight: 3, arbitrary: envelopeArb.map((e) => ({ body: JSON.stringify(e) ?? 'null' })) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 6 }).map((j) => ({ body: JSON.stringify(j) ?? 'null' })) },
  { weight: 2, arbitrary: rawText.map((body) => ({ body })) },
  { weight: 2, arbitrary: poisoned.map((body) => ({ body })) },
  { weight: 1, arbitrary: deepText.map((body) => ({ body, uid: 'deep' })) },
);
const bodyArb: fc.Arbitrary<Payload> = fc
  .tuple(
    rawBody,
    fc.oneof({ weight: 12, arbitrary: fc.constant<string | undefined>('application/json') }, { weight: 1, arbitrary: fc.constantFrom<string | undefined>('application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/json-patch+json', 'APPLICATION/JSON', '') }, { weight: 1, arbitrary: fc.constant(undefined) }),
    fc.oneof({ weight: 8, arbitrary: fc.constant('10s') }, { weight: 1, arbitrary: fc.constantFrom('1s', '0s', '500ms', '1h', '1m30s', '-1s', '1e999s', '99999999999999999999h', '', 'x', '10') }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) }),
  )
  .map(([b, contentType, timeout]) => ({ ...b, contentType, query: `?timeout=${encodeURIComponent(timeout)}` }));

t.test('the route answers 400-family or a valid AdmissionReview with the uid, never 500, and pollutes nothing', async (t) => {
  const app = await createApp(config, { logger, offline: true, namespaceLabels: null });
  t.teardown(() => app.server.close());
  await app.server.ready();
  const statuses: Record<number, number> = {};
  const details = await fc.check(
    fc.asyncProperty(bodyArb, async (p) => {
      const res = await app.server.inject({
        method: 'POST',
        url: `/validate${p.query}`,
        headers: p.contentType === undefined ? {} : { 'content-type': p.contentType },
        payload: p.body,
      });
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      if (res.statusCode >= 500) throw new Error(`HTTP ${res.statusCode}: ${res.body.slice(0, 300)}`);
      let body: unknown;
      try {
        body = JSON.parse(res.body);
      } catch {
        throw new Error(`HTTP ${res.statusCode} with a body that is not JSON: ${res.body.slice(0, 200)}`);
      }
      if (res.statusCode === 200) {
        // The route answers 200 only for a valid envelope, whose uid is then known.
        const uid = p.uid ?? (JSON.parse(p.body) as { request: { uid: string } }).request.uid;
        const problem = checkResponse(uid, body);
        if (problem) throw new Error(problem);
      } else {
        const e = body as { error?: unknown; statusCode?: unknown };
        if (![400, 413, 415].includes(res.statusCode)) throw new Error(`unexpected HTTP ${res.statusCode}: ${res.body.slice(0, 200)}`);
        // eslint-disable-next-line no-control-regex
        if (typeof e.error !== 'string' || /[\u0000-\u001f]/.test(e.error) || e.statusCode !== res.statusCode) throw new Error(`a ${res.statusCode} without a one-line reason: ${res.body.slice(0, 200)}`);
      }
      const polluted = ({} as Record<string, unknown>)['polluted'];
      if (polluted !== undefined) throw new Error('Object.prototype was polluted');
    }),
    runOpts,
  );
  t.comment(`${details.numRuns} runs (seed ${SEED}); statuses ${JSON.stringify(statuses)}${details.interrupted ? `; interrupted after ${TIME_LIMIT_MS} ms` : ''}`);
  if (errorLines.length) t.comment(`first error log lines: ${errorLines.slice(0, 3).join(' // ')}`);
  t.notOk(details.failed, details.failed ? `${String((details.errorInstance as Error)?.message ?? details.errorInstance).slice(0, 600)} <- ${String(fc.defaultReportMessage(details))}` : 'no counterexample');
  t.equal(Object.getOwnPropertyNames(Object.prototype).sort().join(','), prototypeKeysBefore, 'Object.prototype has no new keys');
  t.ok((statuses[200] ?? 0) > 1000 && (statuses[400] ?? 0) > 1000, 'both valid reviews and malformed bodies were exercised');
});
