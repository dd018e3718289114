import t from 'tap';
import { commandSanity } from '../../src/checks/command-sanity.js';
import type { CheckPorts } from '../../src/checks/ports.js';
import type { Finding } from '../../src/checks/types.js';
import { findingParts } from '../../src/admission/verdict.js';
import { deploymentObject, inputFor, podObject } from '../helpers/workloads.js';

const runPod = (command?: string[], args?: string[], extra: Record<string, unknown> = {}) =>
  commandSanity.run(inputFor('Pod', podObject([{ name: 'app', image: 'busybox', command, args }], extra)), {} as CheckPorts);

type Row = [name: string, command: string[] | undefined, args: string[] | undefined, certainty: Finding['certainty'] | 'none', ...patterns: RegExp[]];
const rows: Row[] = [
  ['exit as the command (the seed) is denied with the runtime words and a shell fix', ['exit', '1'], undefined, 'certain',
    /exec: "exit": executable file not found in \$PATH/, /shell builtin/, /CrashLoopBackOff/, /command: \["sh", "-c", "exit 1"\]/],
  ['exit with its code in args gets the same fix', ['exit'], ['1'], 'certain', /\["sh", "-c", "exit 1"\]/],
  ['export is a special builtin', ['export', 'A=1'], undefined, 'certain', /exec: "export"/],
  ['source is bash-only', ['source', '/app/env.sh'], undefined, 'certain', /\["sh", "-c", "source \/app\/env.sh"\]/],
  ['a dot is a builtin', ['.', '/etc/profile'], undefined, 'certain', /exec: "\."/],
  ['the if keyword is not a program', ['if', 'true;', 'then', 'echo', 'x;', 'fi'], undefined, 'certain', /exec: "if"/],
  ['cd in a restarting pod is certain', ['cd', '/app'], undefined, 'certain', /exec: "cd"/, /where a stub exists \(RHEL, Fedora\) it exits at once: Completed, then CrashLoopBackOff/, /workingDir: "\/app"/],
  ['a whole command line in one string is split', ['python app.py'], ['--port', '80'], 'certain',
    /exec: "python app.py": executable file not found in \$PATH/, /command: \["python", "app.py", "--port", "80"\]/],
  ['a command line with shell operators goes to sh -c', ['cd /app && ./run'], undefined, 'certain', /command: \["sh", "-c", "cd \/app && .\/run"\]/],
  ['an empty command[0] is denied', [''], ['x'], 'certain', /an empty string/, /exec: "": executable file not found/],
  ['white space only is denied', ['  '], undefined, 'certain', /only white space/],
  ['an absolute path with a space may exist: only likely', ['/opt/My App/run'], undefined, 'likely', /holds a program and its arguments/],
  ['sh -c with a script passes', ['sh', '-c', 'exit 1'], undefined, 'none'],
  ['a program by name passes', ['nginx', '-g', 'daemon off;'], undefined, 'none'],
  ['an absolute program passes', ['/usr/local/bin/app'], ['--flag'], 'none'],
  ['args alone keep the image entrypoint: nothing to judge', undefined, ['exit', '1'], 'none'],
  ['an empty command list keeps the entrypoint', [], undefined, 'none'],
  ['true exists as a program in images: not this check', ['true'], undefined, 'none'],
];

for (const [name, command, args, certainty, ...patterns] of rows) {
  t.test(name, async (t) => {
    const findings = await runPod(command, args);
    if (certainty === 'none') {
      t.same(findings, []);
      return;
    }
    t.equal(findings.length, 1);
    const f = findings[0]!;
    t.equal(f.checkId, 'command-sanity');
    t.equal(f.container, 'app');
    t.equal(f.certainty, certainty);
    t.notMatch(f.message, /\n/, 'one line');
    const p = findingParts(f);
    for (const re of patterns) t.match(`${p.what}; fix: ${p.fix} (${p.detail ?? ''})`, re);
  });
}

t.test('cd in a Job is only likely (an RHEL stub would exit 0 and complete)', async (t) => {
  const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'app', image: 'x', command: ['cd', '/'] }] } } } };
  const findings = await commandSanity.run(inputFor('Job', job), {} as CheckPorts);
  t.equal(findings[0]?.certainty, 'likely');
});

t.test('the check reads Deployment templates too', async (t) => {
  const findings = await commandSanity.run(inputFor('Deployment', deploymentObject([{ name: 'web', image: 'nginx', command: ['exit', '1'] }])), {} as CheckPorts);
  t.equal(findings[0]?.container, 'web');
  t.equal(findings[0]?.certainty, 'certain');
});
