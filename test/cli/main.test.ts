import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

t.test('check --offline denies both seed examples at the container line and exits 1', async (t) => {
  const r = await runCli(['check', '--offline', '-f', 'examples/pod-typo-in-name.yaml', '-f', 'examples/pod-crashloopbackoff.yaml']);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stdout, /^DENY {2}examples\/pod-typo-in-name\.yaml:\d+:\d+ Pod\/typo-in-name \[image-exists\] container "nginx": image "ngiinx:1\.14\.2" not found: .*did you mean "nginx:1\.14\.2"\?$/m);
  t.match(r.stdout, /^DENY {2}examples\/pod-crashloopbackoff\.yaml:\d+:\d+ Pod\/crashloopbackoff \[command-sanity\] container "app": command "exit" is a shell builtin.*exec: "exit": executable file not found in \$PATH.*\["sh", "-c", "exit 1"\]$/m);
  t.match(r.stdout, /^2 objects checked: 2 would be denied, 1 warning$/m);
});

t.test('check reads standard input, multi-document, and passes a good manifest with a warning offline', async (t) => {
  const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec:\n  containers:\n  - {name: web, image: "nginx:1.14.2"}\n';
  const r = await runCli(['check', '--offline', '-f', '-'], { stdin: yaml });
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, /^WARN {2}<stdin>:10:5 Pod\/ok \[image-exists\] container "web": could not verify image "nginx:1\.14\.2": docker\.io was not asked \(offline mode\)/m);
  t.match(r.stdout, /1 object checked: 0 would be denied, 1 warning/);
});

t.test('check on a folder reads every manifest in it', async (t) => {
  const r = await runCli(['check', '--offline', '-f', 'examples']);
  t.equal(r.code, 1);
  t.match(r.stdout, /deployment-typo-in-name\.yaml:\d+:\d+ Deployment\/typo-in-name/);
  t.match(r.stdout, /deployment-crashloopbackoff\.yaml:\d+:\d+ Deployment\/crashloopbackoff/);
});

t.test('unreadable input exits 2 with the reason', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-cli-'));
  writeFileSync(join(dir, 'bad.yaml'), 'kind: Pod\nspec: [\n');
  const missing = await runCli(['check', '--offline', '-f', join(dir, 'nope.yaml')]);
  t.equal(missing.code, 2);
  t.match(missing.stdout, /ERROR .*nope\.yaml: cannot read: ENOENT/);
  const broken = await runCli(['check', '--offline', '-f', join(dir, 'bad.yaml')]);
  t.equal(broken.code, 2);
  t.match(broken.stdout, /ERROR .*bad\.yaml#1: not valid YAML/);
});

t.test('a bad config refuses to start, naming the field', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-cli-'));
  const cfg = join(dir, 'c.yaml');
  writeFileSync(cfg, 'admission:\n  defaultMode: block\n');
  const r = await runCli(['serve', '--config', cfg]);
  t.equal(r.code, 2);
  t.match(r.stderr, 'backoff-guard: invalid config: admission.defaultMode must be one of "enforce", "warn", "off"');
  const env = await runCli(['serve'], { env: { BACKOFF_GUARD_PORT: 'x' } });
  t.equal(env.code, 2);
  t.match(env.stderr, 'BACKOFF_GUARD_PORT="x": server.port must be an integer');
});

t.test('review wraps a manifest in an AdmissionReview', async (t) => {
  const r = await runCli(['review', '-f', 'examples/deployment-typo-in-name.yaml']);
  t.equal(r.code, 0, r.stderr);
  const review = JSON.parse(r.stdout);
  t.equal(review.apiVersion, 'admission.k8s.io/v1');
  t.same(review.request.kind, { group: 'apps', version: 'v1', kind: 'Deployment' });
  t.equal(review.request.operation, 'CREATE');
  t.match(review.request.uid, /^[0-9a-f-]{36}$/);
  t.equal(review.request.object.spec.template.spec.containers[0].image, 'ngiinx:1.14.2');
});

t.test('usage errors exit 2 with help', async (t) => {
  const r = await runCli(['frobnicate']);
  t.equal(r.code, 2);
  t.match(r.stderr, 'unknown command "frobnicate"');
  const noFile = await runCli(['check']);
  t.equal(noFile.code, 2);
  t.match(noFile.stderr, 'give the manifests with -f');
  const help = await runCli(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, 'backoff-guard serve');
});
