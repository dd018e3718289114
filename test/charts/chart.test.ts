// The Helm chart, checked without a `helm` binary: every non-template YAML file parses (as YAML 1.1,
// like Helm), values.schema.json accepts values.yaml and rejects wrong types, the `config` section is
// a config the webhook itself accepts, and the templates are scanned for the mistakes a render would
// catch (unbalanced actions and blocks, typos in .Values paths, unknown named templates) and for
// rights beyond get/list/watch.
import t from 'tap';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse, parseAllDocuments, parseDocument } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHART = join(ROOT, 'charts/backoff-guard');
const TEMPLATES = join(CHART, 'templates');

const read = (rel: string) => readFileSync(join(CHART, rel), 'utf8');
const yaml11 = (text: string): unknown => parse(text, { version: '1.1' });

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const values = yaml11(read('values.yaml')) as Record<string, Json>;
const valuesSchema = JSON.parse(read('values.schema.json')) as Record<string, unknown>;
const templateFiles = walk(TEMPLATES);
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

/** A deep copy of values.yaml with `path` (dotted) set to `value`. */
function valuesWith(path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(values) as Record<string, unknown>;
  const keys = path.split('.');
  let node = copy;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[keys.at(-1)!] = value;
  return copy;
}

t.test('every non-template YAML file of the chart parses cleanly as YAML 1.1', async (t) => {
  const files = walk(CHART).filter((p) => /\.ya?ml$/.test(p) && !p.startsWith(TEMPLATES + '/'));
  t.ok(files.length >= 3, `found ${files.map((f) => relative(CHART, f)).join(', ')}`);
  for (const rel of ['Chart.yaml', 'values.yaml', 'files/webhook.yaml']) t.ok(existsSync(join(CHART, rel)), `${rel} exists`);
  for (const file of files) {
    const docs = parseAllDocuments(readFileSync(file, 'utf8'), { version: '1.1' });
    const list = Array.isArray(docs) ? docs : [];
    t.ok(list.length >= 1, `${relative(CHART, file)} holds a document`);
    for (const doc of list) {
      t.same(doc.errors.map((e) => e.message), [], `${relative(CHART, file)} parses without errors`);
      t.same(doc.warnings.map((e) => e.message), [], `${relative(CHART, file)} parses without warnings`);
    }
  }
});

t.test('Chart.yaml: apiVersion v2, appVersion is package.json version', async (t) => {
  const chart = yaml11(read('Chart.yaml')) as Record<string, unknown>;
  t.equal(chart.apiVersion, 'v2');
  t.equal(chart.name, 'backoff-guard');
  t.equal(chart.type, 'application');
  t.match(chart.version, /^\d+\.\d+\.\d+/);
  t.equal(chart.appVersion, packageJson.version, 'appVersion follows package.json');
  t.type(chart.appVersion, 'string', 'appVersion is quoted');
});

t.test('values.schema.json (draft-07) accepts values.yaml and rejects wrong types', async (t) => {
  t.equal(valuesSchema.$schema, 'http://json-schema.org/draft-07/schema#');
  t.equal(valuesSchema.additionalProperties, false, 'unknown top-level keys are rejected');
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
  const validate = ajv.compile(valuesSchema);
  t.ok(validate(values), `values.yaml is valid: ${ajv.errorsText(validate.errors)}`);

  const wrong: Array<[string, unknown]> = [
    ['replicaCount', 'two'],
    ['replicaCount', 0],
    ['webhook.failurePolicy', 'Sometimes'],
    ['webhook.timeoutSeconds', 31],
    ['webhook.skipControllerOwnedPods', 'yes'],
    ['tls.mode', 'magic'],
    ['image.pullPolicy', 'Sometimes'],
    ['service.port', '443'],
    ['rbac.create', 'true'],
    ['config.admission.defaultMode', 'block'],
    ['config.server.port', 'https'],
    ['config.admission.unknownKey', true],
    ['webhook.namespaceSelector.matchExpressions', [{ key: 'team', operator: 'Like' }]],
    ['tolerations', {}],
  ];
  for (const [path, value] of wrong) {
    t.notOk(validate(valuesWith(path, value)), `${path}: ${JSON.stringify(value)} is rejected`);
  }
  t.notOk(validate({ ...values, replicas: 2 }), 'a misspelled top-level key is rejected');

  // tls.mode secret needs the Secret's name and its CA.
  t.notOk(validate(valuesWith('tls.mode', 'secret')), 'tls.mode secret without name/caBundle is rejected');
  const secretMode = valuesWith('tls', { ...(values.tls as object), mode: 'secret', secret: { name: 'my-tls', caBundle: 'QUJD' } });
  t.ok(validate(secretMode), `tls.mode secret with name and caBundle: ${ajv.errorsText(validate.errors)}`);

  const fine: Array<[string, unknown]> = [
    ['tls.mode', 'certManager'],
    ['webhook.failurePolicy', 'Fail'],
    ['webhook.skipControllerOwnedPods', true],
    ['webhook.matchConditions', [{ name: 'not-ci', expression: "request.userInfo.username != 'ci'" }]],
    ['metrics.serviceMonitor.enabled', true],
    ['image.digest', `sha256:${'a'.repeat(64)}`],
    ['podDisruptionBudget.minAvailable', '50%'],
    ['config.registry.hosts', { 'registry.internal:5000': { caFile: '/etc/ca.crt', timeoutMs: 1000 } }],
    ['global', { imageRegistry: 'x' }],
  ];
  for (const [path, value] of fine) {
    t.ok(validate(valuesWith(path, value)), `${path}: ${JSON.stringify(value)} is accepted: ${ajv.errorsText(validate.errors)}`);
  }
});

t.test('the config section of values.yaml is a config the webhook accepts, with the real defaults', async (t) => {
  const fromValues = loadConfig({ document: values.config });
  t.same(fromValues, loadConfig({}), 'values.yaml documents the built-in defaults (no drift)');
  // What configmap.yaml renders: the chart's port and mounted certificate laid over it.
  const rendered = structuredClone(values.config) as { server: Record<string, unknown> };
  rendered.server.port = values.containerPort;
  rendered.server.tls = { certFile: '/etc/backoff-guard/tls/tls.crt', keyFile: '/etc/backoff-guard/tls/tls.key', generateDevCertificates: false };
  const config = loadConfig({ document: rendered });
  t.equal(config.server.port, 8443);
  t.equal(config.server.tls.generateDevCertificates, false);
  const configmap = readFileSync(join(TEMPLATES, 'configmap.yaml'), 'utf8');
  t.match(configmap, /"generateDevCertificates" false/, 'configmap.yaml turns development certificates off');
  t.match(configmap, /"certFile" "\/etc\/backoff-guard\/tls\/tls\.crt"/);
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
  const chartConfig = (valuesSchema.properties as Record<string, unknown>).config;
  t.same(strip(chartConfig), strip(configSchema), 'regenerate the config part of values.schema.json when the config schema changes');
});

t.test('templates: balanced actions and blocks, known named templates, existing .Values paths', async (t) => {
  t.ok(templateFiles.length >= 13, `${templateFiles.length} template files`);
  const helpers = readFileSync(join(TEMPLATES, '_helpers.tpl'), 'utf8');
  const defined = new Set([...helpers.matchAll(/\{\{-?\s*define\s+"([^"]+)"/g)].map((m) => m[1]!));
  const valuePaths = new Set<string>();

  for (const file of templateFiles) {
    const rel = relative(CHART, file);
    const text = readFileSync(file, 'utf8');
    t.equal(text.split('{{').length, text.split('}}').length, `${rel}: as many {{ as }}`);
    // Actions in order, none nested in another.
    const actions: string[] = [];
    let pos = 0;
    let nested = false;
    for (;;) {
      const open = text.indexOf('{{', pos);
      if (open < 0) break;
      const close = text.indexOf('}}', open + 2);
      if (close < 0 || text.slice(open + 2, close).includes('{{')) {
        nested = true;
        break;
      }
      actions.push(text.slice(open + 2, close).replace(/^-?\s*/, '').replace(/\s*-?$/, ''));
      pos = close + 2;
    }
    t.notOk(nested, `${rel}: every {{ is closed before the next one opens`);
    // Block structure: if/range/with/define/block ... end.
    let depth = 0;
    let negative = false;
    for (const action of actions) {
      if (action.startsWith('/*')) continue;
      if (/^(if|range|with|define|block)\b/.test(action)) depth++;
      else if (/^end\b/.test(action)) depth--;
      if (depth < 0) negative = true;
    }
    t.equal(depth, 0, `${rel}: every if/range/with/define has its end`);
    t.notOk(negative, `${rel}: no end without its block`);
    for (const m of text.matchAll(/include\s+"([^"]+)"/g)) t.ok(defined.has(m[1]!), `${rel}: named template ${m[1]} is defined`);
    for (const m of text.matchAll(/\.Files\.Get\s+"([^"]+)"/g)) t.ok(existsSync(join(CHART, m[1]!)), `${rel}: ${m[1]} exists`);
    for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) valuePaths.add(m[1]!.slice(1));
  }

  t.ok(valuePaths.size > 40, `${valuePaths.size} distinct .Values paths used`);
  for (const path of [...valuePaths].sort()) {
    let node: Json | undefined = values;
    for (const key of path.split('.')) {
      node = node && typeof node === 'object' && !Array.isArray(node) && Object.hasOwn(node, key) ? node[key] : undefined;
      if (node === undefined) break;
    }
    t.not(node, undefined, `.Values.${path} exists in values.yaml`);
  }
});

t.test('the ClusterRole grants only get/list/watch, no wildcards, each rule commented', async (t) => {
  const text = readFileSync(join(TEMPLATES, 'clusterrole.yaml'), 'utf8');
  // Drop lines that are only template actions, neutralise inline ones, then read it as YAML.
  const lines = text.split('\n').filter((line) => !/^\s*\{\{.*\}\}\s*$/.test(line));
  const plain = lines.map((line) => line.replace(/\{\{.*?\}\}/g, 'x')).join('\n');
  const role = parseDocument(plain).toJS() as { kind: string; rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> };
  t.equal(role.kind, 'ClusterRole');
  t.ok(role.rules.length >= 5, `${role.rules.length} rules`);
  const allowed = new Set(['get', 'list', 'watch']);
  for (const rule of role.rules) {
    const what = rule.resources.join(',');
    for (const verb of rule.verbs) t.ok(allowed.has(verb), `${what}: verb ${verb} is read-only`);
    t.notOk([...rule.verbs, ...rule.resources, ...rule.apiGroups].some((s) => s.includes('*')), `${what}: no wildcard`);
    t.notOk(rule.resources.some((r) => r.includes('/')), `${what}: no subresources`);
  }
  const granted = new Map(role.rules.flatMap((r) => r.resources.map((res) => [res, [...r.verbs].sort().join(',')] as const)));
  t.same(Object.fromEntries(granted), { namespaces: 'get', secrets: 'get', serviceaccounts: 'get', nodes: 'list,watch', configmaps: 'get' });
  // Each rule has a comment right above it (template lines aside) naming what needs it.
  lines.forEach((line, i) => {
    if (/^\s*- apiGroups:/.test(line)) t.match(lines[i - 1], /^\s*# \S/, `rule "${lines[i + 1]?.trim()}" has a comment`);
  });
});

t.test('the webhook template merges values over files/webhook.yaml, the single definition', async (t) => {
  const def = yaml11(read('files/webhook.yaml')) as Record<string, unknown>;
  t.equal(def.name, 'validate.backoff-guard.io');
  t.notOk('clientConfig' in def, 'clientConfig is added by the template, not defined in the file');
  t.same(def.admissionReviewVersions, ['v1']);
  t.equal(def.sideEffects, 'None');
  t.equal(def.failurePolicy, 'Ignore');
  const webhook = values.webhook as Record<string, Json>;
  t.equal(webhook.failurePolicy, def.failurePolicy, "values.yaml keeps the file's failurePolicy as default");
  t.equal(webhook.timeoutSeconds, def.timeoutSeconds, "values.yaml keeps the file's timeoutSeconds as default");
  t.equal(webhook.skipControllerOwnedPods, false, 'matchConditions are off by default');
  const selector = JSON.stringify(def.namespaceSelector);
  t.match(selector, /"values":\["off"\]/, '"off" stays a string under YAML 1.1');

  const tpl = readFileSync(join(TEMPLATES, 'validatingwebhookconfiguration.yaml'), 'utf8');
  t.match(tpl, /\.Files\.Get "files\/webhook\.yaml" \| fromYaml/);
  t.match(tpl, /set \$webhook "failurePolicy" \.Values\.webhook\.failurePolicy/);
  t.match(tpl, /set \$webhook "timeoutSeconds"/);
  t.match(tpl, /"kubernetes\.io\/metadata\.name" "operator" "NotIn"/);
  t.match(tpl, /list \$ns "kube-system"/, 'the release namespace and kube-system are always excluded');
  t.match(tpl, /"path" "\/validate"/);
  t.match(tpl, /cert-manager\.io\/inject-ca-from/);
  t.match(tpl, /!has\(object\.metadata\.ownerReferences\) \|\| !object\.metadata\.ownerReferences\.exists\(r, /);
  t.match(read('templates/_helpers.tpl'), /lookup "v1" "Secret"/, 'generated certificates are reused across upgrades');
});

t.test('the pods meet the restricted Pod Security Standard and probe the real endpoints', async (t) => {
  const pod = values.podSecurityContext as Record<string, Json>;
  const ctr = values.securityContext as Record<string, Json>;
  t.same(pod, { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
  t.equal(ctr.allowPrivilegeEscalation, false);
  t.equal(ctr.readOnlyRootFilesystem, true);
  t.equal(ctr.runAsNonRoot, true);
  t.equal(ctr.runAsUser, 65532);
  t.same(ctr.capabilities, { drop: ['ALL'] });
  t.same(ctr.seccompProfile, { type: 'RuntimeDefault' });
  t.equal(values.replicaCount, 2);

  const deployment = readFileSync(join(TEMPLATES, 'deployment.yaml'), 'utf8');
  for (const needle of ['path: /healthz', 'path: /readyz', 'scheme: HTTPS', 'fieldPath: metadata.namespace', 'name: POD_NAMESPACE', 'mountPath: /tmp', 'emptyDir:', 'mountPath: /etc/backoff-guard/config.yaml', 'mountPath: /etc/backoff-guard/tls', 'checksum/config:', 'topologySpreadConstraints:', 'preferredDuringSchedulingIgnoredDuringExecution:', '- --config']) {
    t.ok(deployment.includes(needle), `deployment.yaml: ${needle}`);
  }
  const server = readFileSync(join(ROOT, 'src/http/server.ts'), 'utf8');
  for (const route of ['/healthz', '/readyz', '/validate']) t.ok(server.includes(`'${route}'`), `the server serves ${route}`);

  const test = readFileSync(join(TEMPLATES, 'tests/test-review.yaml'), 'utf8');
  t.match(test, /helm\.sh\/hook: test/);
  t.match(test, /"allowed\\":false/);
  t.match(test, /readOnlyRootFilesystem: true/);
  t.match(test, /ngiinx:1\.14\.2/);
  const notes = readFileSync(join(TEMPLATES, 'NOTES.txt'), 'utf8');
  t.match(notes, /image: ngiinx:1\.14\.2/);
  t.match(notes, /kubectl delete validatingwebhookconfiguration/);
  t.match(notes, /backoff-guard\.io\/mode=off/);
});
