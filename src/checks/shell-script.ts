// shell-script: `sh|bash|ash|dash|zsh -c SCRIPT` parsed by a real shell parser (mvdan/sh):
// - a syntax error in the shell's own language: the shell exits with status 2 before running
//   anything (dash: "Syntax error: ...", bash: "syntax error near ...") -> deny;
// - bash-only syntax run by a POSIX sh (dash on Debian/Ubuntu; busybox ash accepts part of it) ->
//   warning, unless the image's /bin/sh is bash;
// - a script whose every path ends with a non-zero exit (`exit 1`, `false`) after only quick
//   commands: the container fails at once, every time -> deny (warning when only likely).
import { analyzeScript, basename, bashOnlyCommands, dashMissingSetOptions, parseScript, shellInvocation } from './shell-analysis.js';
import { outcome } from './consequence.js';
import { argvFromSpec, effectiveArgv, imageConfigFor, q } from './image-context.js';
import type { CheckPorts } from './ports.js';
import type { Check, CheckInput, Finding } from './types.js';

export const ID = 'shell-script';

export function short(script: string, max = 60): string {
  const one = script.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** The argv the container runs: from the spec when `command` is set, else with the image config. */
export async function runArgv(input: CheckInput, ports: CheckPorts): Promise<string[] | undefined> {
  const fromSpec = argvFromSpec(input.target.container);
  if (fromSpec) return fromSpec;
  const image = await imageConfigFor(input, ports);
  return image ? effectiveArgv(input.target.container, image.found.config).argv : undefined;
}

/** The file the shell resolves to in the image (`sh` -> `/usr/bin/dash`), when the image is indexable. */
async function shellBinary(input: CheckInput, ports: CheckPorts, shell: string): Promise<string | undefined> {
  if (!ports.inspector || !input.image) return undefined;
  const image = await imageConfigFor(input, ports);
  if (!image) return undefined;
  const files = await ports.inspector.files(input.image, image.architecture, input.signal);
  if (files.status !== 'found') return undefined;
  const target = files.files.stat(shell.includes('/') ? shell : `/bin/${shell}`);
  return target ? basename(target.path) : undefined;
}

/** Whether the image's /bin/sh is bash (RHEL, Fedora, Amazon Linux): bashisms then work under sh. */
async function shIsBash(input: CheckInput, ports: CheckPorts, shell: string): Promise<boolean> {
  return (await shellBinary(input, ports, shell))?.startsWith('bash') ?? false;
}

export const shellScript: Check<CheckPorts> = {
  id: ID,
  description: 'sh -c / bash -c scripts must parse in their shell and must not always fail (else Error: CrashLoopBackOff, a failed pod or BackoffLimitExceeded)',
  async run(input, ports): Promise<Finding[]> {
    const argv = await runArgv(input, ports);
    const inv = argv && shellInvocation(argv);
    if (!inv) return [];
    const c = input.target.container;
    const finding = (certainty: Finding['certainty'], message: string, fix: string): Finding[] => [{ checkId: ID, container: c.name, certainty, message, fix }];
    const failed = outcome(input, 'error').text;
    const shell = basename(inv.shell);
    const script = q(short(inv.script));

    const parsed = parseScript(inv.script, inv.language);
    if (!parsed.ok) {
      if (inv.language === 'posix') {
        const asBash = parseScript(inv.script, 'bash');
        if (asBash.ok) {
          if (await shIsBash(input, ports, inv.shell)) return [];
          return finding(
            'likely',
            `the ${shell} -c script ${q(short(inv.script, 40))} uses bash-only syntax (${parsed.error}): dash (Debian, Ubuntu) stops with a syntax error (${failed})`,
            'run it with bash, or write POSIX sh',
          );
        }
      }
      return finding(
        'certain',
        `the ${shell} -c script ${script} has a syntax error, ${parsed.error}: the shell exits with status 2 before running anything (${failed})`,
        'correct the script',
      );
    }
    if (inv.language === 'posix') {
      const bashOnly = bashOnlyCommands(parsed.file);
      if (bashOnly.length > 0 && !(await shIsBash(input, ports, inv.shell))) {
        return finding(
          'likely',
          `the ${shell} -c script ${q(short(inv.script, 40))} uses ${bashOnly.map((b) => `"${b}"`).join(', ')}, which POSIX sh does not have: dash (Debian, Ubuntu) fails with "${bashOnly[0]}: not found"`,
          'run it with bash, or use [ ] and .',
        );
      }
    }
    if (inv.language === 'posix') {
      const options = dashMissingSetOptions(parsed.file);
      // Only where the image shows dash: busybox ash and bash have pipefail, and an unreadable
      // image says nothing either way.
      if (options.length > 0 && (await shellBinary(input, ports, inv.shell))?.startsWith('dash')) {
        return finding(
          'likely',
          `the ${shell} -c script ${q(short(inv.script, 40))} sets -o ${options[0]}, and this image's sh is dash, which up to release 0.5.12 has no ${options[0]}: it stops with "set: Illegal option -o ${options[0]}" (${failed})`,
          `run it with bash, or drop -o ${options[0]}`,
        );
      }
    }
    const verdict = analyzeScript(parsed.file);
    if (verdict.alwaysFails && verdict.quick !== 'no') {
      return finding(
        verdict.quick === 'certain' ? 'certain' : 'likely',
        `the ${shell} -c script ${script} always ends with ${q(verdict.failure ?? 'a failure')} (a non-zero exit status) and does nothing long-running before: it fails at once, every time (${failed})`,
        'remove the failing exit, or make the script run the program it is meant to run',
      );
    }
    return [];
  },
};
