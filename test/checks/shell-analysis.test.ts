import t from 'tap';
import { analyzeArgv, analyzeScript, bashOnlyCommands, parseScript, shellInvocation, sleepSeconds, type ScriptVerdict } from '../../src/checks/shell-analysis.js';

const verdict = (script: string, lang: 'posix' | 'bash' = 'posix'): ScriptVerdict => {
  const p = parseScript(script, lang);
  if (!p.ok) throw new Error(p.error);
  return analyzeScript(p.file);
};

t.test('shell invocations: -c and clustered flags, script files are not read', async (t) => {
  t.match(shellInvocation(['sh', '-c', 'exit 1']), { shell: 'sh', language: 'posix', script: 'exit 1', errexit: false });
  t.match(shellInvocation(['/bin/bash', '-ec', 'x', 'name', 'arg']), { language: 'bash', script: 'x', errexit: true });
  t.match(shellInvocation(['ash', '-x', '-c', 'y']), { script: 'y' });
  t.match(shellInvocation(['bash', '-o', 'pipefail', '-c', 'z']), { script: 'z' });
  t.equal(shellInvocation(['sh', 'script.sh']), undefined);
  t.equal(shellInvocation(['python', '-c', 'print(1)']), undefined);
  t.equal(shellInvocation(['sh', '-c']), undefined);
});

t.test('syntax errors come with the parser position and words', async (t) => {
  t.same(parseScript('if true; then echo', 'posix'), { ok: false, error: '1:1: if statement must end with "fi"' });
  t.match(parseScript("echo 'unclosed", 'bash'), { ok: false, error: /reached EOF without closing quote/ });
  t.match(parseScript('a=(1 2)', 'posix'), { ok: false, error: /arrays are a bash/ });
  t.equal(parseScript('a=(1 2)', 'bash').ok, true);
});

t.test('bash-only commands that parse as plain commands in POSIX mode', async (t) => {
  const p = parseScript('[[ -f /x ]] && source /env; echo ok', 'posix');
  t.ok(p.ok);
  if (p.ok) t.same(bashOnlyCommands(p.file).sort(), ['[[', 'source']);
  const q = parseScript('[ -f /x ] && . /env', 'posix');
  if (q.ok) t.same(bashOnlyCommands(q.file), []);
});

t.test('sleep durations as sleep(1) reads them', async (t) => {
  t.equal(sleepSeconds(['5']), 5);
  t.equal(sleepSeconds(['1m', '30']), 90);
  t.equal(sleepSeconds(['0.5']), 0.5);
  t.equal(sleepSeconds(['infinity']), Infinity);
  t.equal(sleepSeconds(['$T']), undefined);
});

type Row = [script: string, quick: ScriptVerdict['quick'], alwaysFails: boolean, alwaysSucceeds: boolean];
const rows: Row[] = [
  ['exit 1', 'certain', true, false],
  ['echo starting; exit 1', 'certain', true, false],
  ['if [ -f /x ]; then exit 1; else exit 2; fi', 'certain', true, false],
  ['false', 'certain', true, false],
  ['(exit 3)', 'certain', true, false],
  ['test -f /x || exit 1', 'certain', false, false],
  ['echo hi', 'certain', false, true],
  ['echo $HOME; date', 'certain', false, true],
  ['true && echo ok', 'certain', false, true],
  ['exit 0', 'certain', false, true],
  ['sleep 5', 'certain', false, true],
  ['env', 'certain', false, true],
  ['for i in 1 2 3; do echo $i; done', 'certain', false, true],
  ['case "$X" in a) echo a;; *) echo b;; esac', 'certain', false, true],
  ['sleep 300', 'likely', false, true],
  ['sleep 10 &', 'likely', false, true],
  ['ls $DIR', 'likely', false, false],
  ['sleep infinity', 'no', false, true],
  ['while true; do sleep 1; done', 'no', false, false],
  ['nginx -g "daemon off;"', 'no', false, false],
  ['./server; exit 1', 'no', true, false],
  ['echo $(cat /big/file)', 'no', false, false],
  ['X=$(curl -s http://x); echo $X', 'no', false, true],
  ['[ -f x ] && exec nginx', 'no', false, false],
  ['exec sleep 3600', 'no', false, true],
  ['echo a | grep a', 'no', false, false],
];
for (const [script, quick, alwaysFails, alwaysSucceeds] of rows) {
  t.test(`script ${JSON.stringify(script)}`, async (t) => {
    t.match(verdict(script), { quick, alwaysFails, alwaysSucceeds });
  });
}

t.test('failing scripts say what ends them', async (t) => {
  t.equal(verdict('echo x; exit 1').failure, 'exit 1');
  t.equal(verdict('false').failure, 'false');
});

t.test('programs started directly', async (t) => {
  t.match(analyzeArgv(['echo', 'hello']), { quick: 'certain', alwaysSucceeds: true });
  t.match(analyzeArgv(['/bin/true']), { quick: 'certain', alwaysSucceeds: true });
  t.match(analyzeArgv(['false']), { quick: 'certain', alwaysFails: true });
  t.match(analyzeArgv(['sleep', '5']), { quick: 'certain' });
  t.match(analyzeArgv(['sleep', '3600']), { quick: 'no', seconds: 3600 }, 'an hour: the kubelet restarts it without back-off');
  t.match(analyzeArgv(['sleep', 'infinity']), { quick: 'no' });
  t.match(analyzeArgv(['env']), { quick: 'certain' });
  t.match(analyzeArgv(['env', 'A=1', 'node', 'app.js']), { quick: 'no' }, 'env running a program');
  t.match(analyzeArgv(['env', 'A=1', 'echo', 'x']), { quick: 'certain' });
  t.match(analyzeArgv(['cat', '/etc/os-release']), { quick: 'certain' });
  t.match(analyzeArgv(['cat']), { quick: 'no' }, 'cat without files waits on stdin');
  t.match(analyzeArgv(['nginx']), { quick: 'no' });
});
