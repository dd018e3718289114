// command-sanity: argv[0] that the runtime cannot exec, decided from the pod spec alone.
//
// The kubelet passes `command` + `args` to the runtime as argv; runc execs argv[0] as a file,
// looked up in $PATH when it has no slash (Go's exec.LookPath). Nothing interprets it as shell:
// `command: ["exit", "1"]` fails with `exec: "exit": executable file not found in $PATH`
// (StartError, exit code 128, then CrashLoopBackOff). Sources: kubelet kuberuntime_container.go
// (argv), runc libcontainer/standard_init_linux.go (exec lookup), shared/docs/kubelet-semantics.md.
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

/** Restarted when it exits: a pod with restartPolicy Always (the default) or a sidecar. */
function restartsWhenDone(input: CheckInput): boolean {
  if (input.target.sidecar) return true;
  if (input.target.kind === 'ephemeralContainer') return false;
  const kind = input.workload.kind;
  if (kind === 'Job' || kind === 'CronJob') return false;
  return (input.workload.podSpec.restartPolicy ?? 'Always') === 'Always';
}

export const commandSanity: Check = {
  id: ID,
  description: 'command[0] must be a program the runtime can exec: not a shell builtin, not a whole command line, not empty',
  run(input): Finding[] {
    const { command, args } = input.target.container;
    // `command` absent or [] keeps the image's ENTRYPOINT: nothing to judge without the image.
    if (!command || command.length === 0) return [];
    const argv0 = command[0]!;
    const container = input.target.container.name;
    const rest = [...command.slice(1), ...(args ?? [])];
    const finding = (certainty: Finding['certainty'], message: string): Finding[] => [{ checkId: ID, container, certainty, message }];
    const execError = `exec: ${quote(argv0)}: executable file not found in $PATH`;

    if (argv0.trim() === '') {
      return finding(
        'certain',
        `command[0] is ${argv0 === '' ? 'an empty string' : 'only white space'}: the runtime fails with ${execError} (StartError, then CrashLoopBackOff); fix: put the program first, e.g. ${list(['sh', '-c', shellLine(rest) || 'your-command'])}`,
      );
    }

    if (/\s/.test(argv0)) {
      const words = argv0.trim().split(/\s+/);
      const absolute = argv0.startsWith('/');
      if (SHELL_SYNTAX.test(argv0) || NEVER_A_FILE.has(words[0]!) || SHELL_ONLY_REGULAR.has(words[0]!)) {
        return finding(
          'certain',
          `command[0] ${quote(argv0)} is a whole shell command line in one string: the runtime execs it as one file name and fails with ${execError} (StartError, then CrashLoopBackOff); fix: command: ${list(['sh', '-c', [argv0, shellLine(rest)].filter(Boolean).join(' ')])}`,
        );
      }
      // "/opt/My App/run" may be a real path with a space in its last part: only likely.
      return finding(
        absolute ? 'likely' : 'certain',
        `command[0] ${quote(argv0)} holds a program and its arguments in one string: the runtime execs it as one file name and fails with ${execError} (StartError, then CrashLoopBackOff); fix: command: ${list([...words, ...rest])}`,
      );
    }

    const builtin = NEVER_A_FILE.has(argv0) || SHELL_ONLY_REGULAR.has(argv0);
    if (builtin) {
      const fix = `command: ${list(['sh', '-c', shellLine([argv0, ...rest])])}`;
      if (NEVER_A_FILE.has(argv0)) {
        return finding(
          'certain',
          `command ${quote(argv0)} is a shell builtin, not a program: the runtime execs it as a file and fails with ${execError} (StartError, then CrashLoopBackOff); fix: run it in a shell, ${fix}`,
        );
      }
      // Regular builtins: missing in Debian/Alpine/distroless images (exec error); a no-op script on
      // RHEL-family images that exits at once, which a restarting pod turns into CrashLoopBackOff too.
      return finding(
        restartsWhenDone(input) ? 'certain' : 'likely',
        `command ${quote(argv0)} is a shell builtin, not a program: most images fail with ${execError}, and where a stub exists it exits at once (CrashLoopBackOff); fix: run it in a shell, ${fix}`,
      );
    }
    return [];
  },
};
