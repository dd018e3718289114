// The machine-readable outputs of `backoff-guard check`, from real runs of the built CLI, checked
// by their consumers: the project's published JSON schema, the SARIF 2.1.0 schema (ajv) and
// Microsoft's SARIF Multitool `validate` (the self-contained Linux build from npm runs here
// without a .NET install); kubectl kustomize for -k.
import t from 'tap';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { runCli, ROOT } from '../helpers/cli.js';

const LIST = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: first, namespace: ns1}
    spec:
      containers:
        - name: ok
          image: nginx:1.14.2
  - apiVersion: v1
    kind: Pod
    metadata: {name: second}
    spec:
      initContainers:
        - name: typo
          image: ngiinx:1.14.2
      containers:
        - name: main
          image: nginx:1.14.2
`;

function tmpFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'bg-out-'));
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

t.test('json: line and column of the container in multi-document files and kind: List, valid against schemas/check-output.schema.json', async (t) => {
  const file = tmpFile('multi.yaml', `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n${LIST}`);
  const r = await runCli(['check', '--offline', '-o', 'json', '-f', file]);
  t.equal(r.code, 1, r.stderr);
  const out = JSON.parse(r.stdout);
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  const validate = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schemas/check-output.schema.json'), 'utf8')));
  t.ok(validate(out), JSON.stringify(validate.errors));
  t.equal(out.summary.exitCode, 1);
  t.equal(out.objects.length, 2);
  const typo = out.findings.find((f: { container: string; checkId: string }) => f.container === 'typo' && f.checkId === 'image-exists');
  t.match(typo, { file, document: 2, line: 20, column: 11, kind: 'Pod', name: 'second', namespace: null, verdict: 'deny', containerPath: 'spec.initContainers[0]' });
  const ok = out.findings.find((f: { container: string }) => f.container === 'ok');
  t.match(ok, { line: 13, column: 11, namespace: 'ns1', verdict: 'warning', certainty: 'unverified' });
  // the fix of a message that has one ("; fix: ...") is its own field
  const crash = await runCli(['check', '--offline', '-o', 'json', '-f', 'examples/deployment-crashloopbackoff.yaml']);
  const sanity = JSON.parse(crash.stdout).findings.find((f: { checkId: string }) => f.checkId === 'command-sanity');
  t.match(sanity, { line: 17, column: 11, verdict: 'deny' });
  t.equal(typeof sanity.fix, 'string');
  t.notMatch(sanity.message, '; fix: ');
});

t.test('sarif: valid SARIF 2.1.0 (ajv and the SARIF Multitool), rules with help, regions at the container', async (t) => {
  const r = await runCli(['check', '--offline', '-o', 'sarif', '-f', 'examples/deployment-crashloopbackoff.yaml', '-f', 'examples/pod-typo-in-name.yaml']);
  t.equal(r.code, 1, r.stderr);
  const log = JSON.parse(r.stdout);
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
  const validate = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'test/fixtures/sarif/sarif-2.1.0.json'), 'utf8')));
  t.ok(validate(log), JSON.stringify(validate.errors));
  const run = log.runs[0];
  t.ok(run.tool.driver.rules.length >= 10);
  for (const rule of run.tool.driver.rules) t.ok(rule.help.text.length > 20, rule.id);
  const sanity = run.results.find((x: { ruleId: string }) => x.ruleId === 'command-sanity');
  t.equal(sanity.level, 'error');
  t.equal(run.tool.driver.rules[sanity.ruleIndex].id, 'command-sanity');
  t.same(sanity.locations[0].physicalLocation.artifactLocation, { uri: 'examples/deployment-crashloopbackoff.yaml', uriBaseId: '%SRCROOT%' });
  t.same(sanity.locations[0].physicalLocation.region, { startLine: 17, startColumn: 11 });

  const require = createRequire(import.meta.url);
  const tool = join(dirname(require.resolve('@microsoft/sarif-multitool-linux/package.json')), 'Sarif.Multitool');
  // npm may not run the package's postinstall (chmod u+x) when install scripts are not allowed.
  if ((statSync(tool).mode & 0o100) === 0) chmodSync(tool, 0o755);
  const sarif = tmpFile('out.sarif', r.stdout);
  let output: string;
  try {
    output = execFileSync(tool, ['validate', sarif], { encoding: 'utf8', env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1' } });
  } catch (err) {
    output = `${(err as { stdout?: string }).stdout ?? ''}${(err as Error).message}`;
  }
  t.match(output, /1 files scanned/);
  t.notMatch(output, /: error /, output);
  t.notMatch(output, /SARIF1001/, 'rule names differ from ids');
});

t.test('github: workflow commands with escaped data and properties', async (t) => {
  const { escapeData, escapeProperty, command } = await import('../../src/cli/output-github.js');
  t.equal(escapeData('50% done\r\nnext'), '50%25 done%0D%0Anext');
  t.equal(escapeProperty('a:b,c%\n'), 'a%3Ab%2Cc%25%0A');
  t.equal(command('error', { file: 'dir,x/a:b.yaml', line: 3, col: 5, title: 't' }, 'm: x, y'), '::error file=dir%2Cx/a%3Ab.yaml,line=3,col=5,title=t::m: x, y');
  const r = await runCli(['check', '--offline', '-o', 'github', '-f', 'examples/deployment-crashloopbackoff.yaml']);
  t.equal(r.code, 1);
  t.match(r.stdout, /^::error file=examples\/deployment-crashloopbackoff\.yaml,line=17,col=11,title=backoff-guard command-sanity::container "app" of Deployment\/crashloopbackoff: /m);
  t.match(r.stdout, /^::warning file=examples\/deployment-crashloopbackoff\.yaml,line=17,col=11,title=backoff-guard image-exists::/m);
});

t.test('exit codes: --fail-on deny (default) and warning, unreadable input wins, bad options', async (t) => {
  const warnOnly = await runCli(['check', '--offline', '-f', 'examples/pod-ok.yaml']);
  t.equal(warnOnly.code, 0, warnOnly.stdout);
  t.match(warnOnly.stdout, /0 would be denied, [1-9]\d* warnings?/);
  t.equal((await runCli(['check', '--offline', '--fail-on', 'warning', '-f', 'examples/pod-ok.yaml'])).code, 1);
  t.equal((await runCli(['check', '--offline', '--fail-on', 'deny', '-f', 'examples/pod-typo-in-name.yaml'])).code, 1);
  t.equal((await runCli(['check', '--offline', '-f', 'examples/pod-typo-in-name.yaml', '-f', '/nonexistent.yaml'])).code, 2);
  const badOut = await runCli(['check', '-o', 'xml', '-f', 'examples/pod-ok.yaml']);
  t.equal(badOut.code, 2);
  t.match(badOut.stderr, '--output "xml" must be one of text, json, sarif, github');
  const badFail = await runCli(['check', '--fail-on', 'info', '-f', 'examples/pod-ok.yaml']);
  t.equal(badFail.code, 2);
  t.match(badFail.stderr, '--fail-on "info" must be deny or warning');
  // files after the command count as -f (pre-commit appends the staged files)
  const positional = await runCli(['check', '--offline', 'examples/pod-ok.yaml', 'examples/pod-typo-in-name.yaml']);
  t.equal(positional.code, 1);
  t.match(positional.stdout, /^2 objects checked: 1 would be denied/m);
  // not a TTY: no progress line on stderr
  t.equal(warnOnly.stderr, '');
});

t.test('-k renders a kustomize base: images: rewrites the local name before the checks', async (t) => {
  const raw = await runCli(['check', '--offline', '-o', 'json', '-f', 'test/fixtures/kustomize/base/deployment.yaml']);
  t.equal(raw.code, 1, 'read raw, the local name hello-app is looked up and denied');
  t.match(JSON.parse(raw.stdout).findings, [{ container: 'hello', checkId: 'image-exists', verdict: 'deny' }]);
  const built = await runCli(['check', '--offline', '-o', 'json', '-k', 'test/fixtures/kustomize/base']);
  t.equal(built.code, 0, built.stdout + built.stderr);
  const out = JSON.parse(built.stdout);
  t.match(out.objects, [{ kind: 'Deployment', name: 'hello', input: 'kubectl kustomize test/fixtures/kustomize/base', file: null }]);
  t.notOk(out.findings.some((f: { verdict: string }) => f.verdict === 'deny'));
  t.ok(out.findings.some((f: { message: string }) => f.message.includes('nginx:1.14.2')), 'the rewritten image is the one checked');
  // no kubectl on PATH: a clear error, exit 2
  const empty = mkdtempSync(join(tmpdir(), 'bg-nopath-'));
  const missing = await runCli(['check', '--offline', '-k', 'test/fixtures/kustomize/base'], { env: { PATH: empty } });
  t.equal(missing.code, 2);
  t.match(missing.stdout, /kubectl is not on PATH: -k renders the directory with "kubectl kustomize"/);
});

t.test('progress goes to stderr on a TTY only, and is erased at the end', async (t) => {
  const { terminalProgress } = await import('../../src/cli/progress.js');
  t.equal(terminalProgress({ isTTY: false, write: () => true }), undefined);
  const chunks: string[] = [];
  let now = 0;
  const p = terminalProgress({ isTTY: true, write: (c: string) => chunks.push(c) }, () => (now += 1000))!;
  p.start(2);
  p.begin(['docker.io', 'ghcr.io']);
  p.begin(['docker.io']);
  p.end(['docker.io', 'ghcr.io']);
  p.end(['docker.io']);
  p.finish();
  t.match(chunks[2], '0/2 objects checked, waiting on docker.io, ghcr.io');
  t.match(chunks[3], '1/2 objects checked, waiting on docker.io');
  t.match(chunks[4], /2\/2 objects checked$/);
  t.equal(chunks.at(-1), '\r\u001b[2K');
});
