// command-sanity: argv[0] that the runtime cannot exec, decided from the pod spec alone.
//
// The kubelet passes `command` + `args` to the runtime as argv; runc execs argv[0] as a file,
// looked up in $PATH when it has no slash (Go's exec.LookPath). Nothing interprets it as shell:
// `command: ["exit", "1"]` fails with `exec: "exit": executable file not found in $PATH`
// (StartError, exit code 128; what follows depends on the restart policy: consequence.ts).
// When the image's file index is at hand, a builtin is judged by it: no such file on $PATH is the
// runtime's exec error, a stub (RHEL's /usr/bin/cd) exits at once. Sources: kubelet kuberuntime_container.go
// (argv), runc libcontainer/standard_init_linux.go (exec lookup), shared/docs/kubelet-semantics.md.
import { outcome } from './consequence.js';
import { lookupExecutable } from './exec-lookup.js';
import { imageConfigFor, searchPath, workingDirOf } from './image-context.js';
import type { CheckPorts } from './ports.js';
import type { Check, CheckInput, Finding } from './types.js';

export const ID = 'command-sanity';

/**
 * Never a file in any image: POSIX special built-ins, reserved words, and bash/ksh-only builtins.
 * (POSIX XCU 2.14 "Special Built-In Utilities", 2.4 "Reserved Words"; bash builtins(1).)
 */
export const NEVER_A_FILE: ReadonlySet<string> = new Set([
  // special built-ins
  'break', ':', 'continue', '.', 'eval', 'exec', 'exit', 'export', 'readonly', 'return', 'set', 'shift', 'times', 'trap', 'unset',
  // reserved words
  '!', '{', '}', 'case', 'do', 'done', 'elif', 'else', 'esac', 'fi', 'for', 'if', 'in', 'then', 'until', 'while', '[[', ']]', 'function', 'select', 'time',
  // bash/ksh builtins with no standalone program
  'source', 'declare', 'typeset', 'local', 'let', 'shopt', 'builtin', 'enable', 'logout', 'disown', 'bind', 'history', 'suspend', 'compgen', 'complete', 'mapfile', 'readarray', 'dirs', 'pushd', 'popd',
]);

/**
 * POSIX regular built-ins that are not programs in Debian, Alpine/busybox or distroless images,
 * but that Fedora/RHEL's bash package ships as tiny scripts in /usr/bin (they run the builtin in a
 * throw-away shell and exit at once). Either way the container does nothing useful.
 */
export const SHELL_ONLY_REGULAR: ReadonlySet<string> = new Set(['cd', 'alias', 'unalias', 'bg', 'fg', 'jobs', 'wait', 'umask', 'ulimit', 'read', 'getopts', 'hash', 'type', 'command', 'fc']);

const SHELL_SYNTAX = /[|&;<>()$`\\"'*?[\]#~=%{}]/;

const quote = (s: string): string => JSON.stringify(s);
const list = (argv: string[]): string => `[${argv.map(quote).join(', ')}]`;

/** Joins argv back into one shell command line, quoting words that need it. */
function shellLine(argv: string[]): string {
  return argv.map((w) => (w === '' || /[^\w@%+=:,./-]/.test(w) ? `'${w.replace(/'/g, `'\\''`)}'` : w)).join(' ');
}

/** The fix for a builtin used as the program: a shell, or for `cd DIR` the container's workingDir. */
function builtinFix(argv0: string, rest: string[]): string {
  if (argv0 === 'cd' && rest.length <= 1) return `set workingDir: ${quote(rest[0] ?? '/')} and make command the program to run there`;
  return `run it in a shell, command: ${list(['sh', '-c', shellLine([argv0, ...rest])])}`;
}

/** What the image's file index says about argv[0]: found (a stub), absent, or cannot tell. */
async function inImage(input: CheckInput, ports: CheckPorts, name: string): Promise<{ status: 'found'; path: string } | { status: 'absent'; error: string } | { status: 'unknown'; reason?: string }> {
  const image = await imageConfigFor(input, ports);
  if (!image || !ports.inspector || !input.image) return { status: 'unknown' };
  const files = await ports.inspector.files(input.image, image.architecture, input.signal);
  if (files.status !== 'found') return { status: 'unknown', reason: files.reason };
  const c = input.target.container;
  const hit = lookupExecutable(files.files, name, searchPath(c, image.found.config), workingDirOf(c, image.found.config));
  return hit.status === 'ok' ? { status: 'found', path: hit.path } : { status: 'absent', error: 'error' in hit ? hit.error : `exec: ${quote(name)}: executable file not found in $PATH` };
}

export const commandSanity: Check<CheckPorts> = {
  id: ID,
  description: 'command[0] must be a program the runtime can exec: not a shell builtin, not a whole command line, not empty',
  async run(input, ports): Promise<Finding[]> {
    const { command, args } = input.target.container;
    // `command` absent or [] keeps the image's ENTRYPOINT: nothing to judge without the image.
    if (!command || command.length === 0) return [];
    const argv0 = command[0]!;
    const container = input.target.container.name;
    const rest = [...command.slice(1), ...(args ?? [])];
    const finding = (certainty: Finding['certainty'], message: string, fix: string, detail?: string): Finding[] => [
      { checkId: ID, container, certainty, message, fix, ...(detail ? { detail } : {}) },
    ];
    const execError = `exec: ${quote(argv0)}: executable file not found in $PATH`;
    const start = outcome(input, 'start').text;

    if (argv0.trim() === '') {
      return finding(
        'certain',
        `command[0] is ${argv0 === '' ? 'an empty string' : 'only white space'}: the runtime fails with ${execError} (${start})`,
        `put the program first, e.g. ${list(['sh', '-c', shellLine(rest) || 'your-command'])}`,
      );
    }

    if (/\s/.test(argv0)) {
      const words = argv0.trim().split(/\s+/);
      const absolute = argv0.startsWith('/');
      if (SHELL_SYNTAX.test(argv0) || NEVER_A_FILE.has(words[0]!) || SHELL_ONLY_REGULAR.has(words[0]!)) {
        return finding(
          'certain',
          `command[0] is a whole shell command line in one string, which the runtime execs as one file name: ${execError} (${start})`,
          `command: ${list(['sh', '-c', [argv0, shellLine(rest)].filter(Boolean).join(' ')])}`,
        );
      }
      // "/opt/My App/run" may be a real path with a space in its last part: only likely.
      return finding(
        absolute ? 'likely' : 'certain',
        `command[0] holds a program and its arguments in one string, which the runtime execs as one file name: ${execError} (${start})`,
        `command: ${list([...words, ...rest])}`,
      );
    }

    if (!NEVER_A_FILE.has(argv0) && !SHELL_ONLY_REGULAR.has(argv0)) return [];
    const fix = builtinFix(argv0, rest);
    // With the image's file index at hand the runtime's answer is known, whatever the builtin.
    const hit = await inImage(input, ports, argv0);
    if (hit.status === 'absent') {
      return finding('certain', `command ${quote(argv0)} is a shell builtin and the image has no such file: the runtime fails with ${hit.error} (${start})`, fix);
    }
    if (hit.status === 'found') {
      // RHEL and Fedora ship /usr/bin/cd, /usr/bin/umask... as scripts that run the builtin in a
      // throw-away shell and exit at once: the container ends as soon as it starts.
      const done = outcome(input, 'completed');
      if (done.fails) return finding('certain', `command ${quote(argv0)} runs ${quote(hit.path)}, a stub that runs the shell builtin in a throw-away shell and exits at once: ${done.text}`, fix);
      return finding('likely', `command ${quote(argv0)} runs ${quote(hit.path)}, a stub that runs the shell builtin in a throw-away shell and exits at once: the container does nothing (${done.text})`, fix);
    }
    const unread = hit.reason ? `the image could not be inspected (${hit.reason})` : 'the image was not inspected';
    if (NEVER_A_FILE.has(argv0)) {
      return finding('certain', `command ${quote(argv0)} is a shell builtin: the runtime fails with ${execError} (${start})`, fix);
    }
    // Regular builtins: no such file in Debian, Alpine/busybox or distroless images (exec error);
    // a stub on RHEL-family images that exits at once. Certain only where both end in a failure.
    const done = outcome(input, 'completed');
    return finding(
      done.fails ? 'certain' : 'likely',
      `command ${quote(argv0)} is a shell builtin: most images fail with ${execError} (${start})`,
      fix,
      `${unread}; where a stub exists (RHEL, Fedora) it exits at once: ${done.text}`,
    );
  },
};
