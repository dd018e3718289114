// exits-at-once: under restartPolicy Always (Deployments, StatefulSets, DaemonSets, ReplicaSets,
// a bare Pod by default, sidecars) a main process that ends, even with status 0, is restarted
// with growing back-off: "Back-off restarting failed container", CrashLoopBackOff. Predicted when
// the process is certain to end quickly: `echo`, `true`, `exit 0`, `env`, `date`, `sleep 5`, a
// script made only of such commands, or a shell started with no script and no stdin (the
// busybox image's CMD ["sh"]). Jobs, init containers and ephemeral containers are meant to end.
// Under restartPolicy OnFailure only a failing process is restarted.
import { commandSanity } from './command-sanity.js';
import { analyzeArgv, analyzeScript, basename, parseScript, shellInvocation, shellLanguage, type ScriptVerdict } from './shell-analysis.js';
import { BACKOFF_INITIAL_S, BACKOFF_MAX_S, BACKOFF_RESET_S, duration, outcome, situation, type Situation } from './consequence.js';
import { list, q } from './image-context.js';
import type { CheckPorts } from './ports.js';
import { runArgv, short } from './shell-script.js';
import type { Check, CheckInput, Finding } from './types.js';

export const ID = 'exits-at-once';

function whyRestarted(input: CheckInput, s: Situation): string {
  if (s.role === 'sidecar') return 'sidecars are always restarted';
  if (s.restart === 'on-failure') return 'restartPolicy is OnFailure';
  if (s.restart === 'never') return s.job ? 'a Job counts every failed pod' : 'restartPolicy is Never';
  return input.workload.kind === 'Pod' ? 'restartPolicy is Always' : `a ${input.workload.kind}'s pods always restart`;
}

export const exitsAtOnce: Check<CheckPorts> = {
  id: ID,
  description: 'the main process must not end at once where it is restarted (echo, true, sleep 5 under restartPolicy Always: CrashLoopBackOff), nor always fail',
  async run(input, ports): Promise<Finding[]> {
    const s = situation(input);
    if (s.role === 'ephemeral') return [];
    const argv = await runArgv(input, ports);
    if (!argv || argv.length === 0) return [];
    const c = input.target.container;
    // `command: ["exit", "0"]` is command-sanity's: the runtime cannot even start it.
    if (c.command && c.command.length > 0 && (await commandSanity.run(input, ports)).length > 0) return [];

    let verdict: ScriptVerdict;
    let what: string;
    const inv = shellInvocation(argv);
    if (inv) {
      const parsed = parseScript(inv.script, inv.language);
      if (!parsed.ok) return []; // shell-script reports it
      verdict = analyzeScript(parsed.file);
      if (verdict.alwaysFails) return []; // shell-script reports it
      what = `the ${basename(inv.shell)} -c script ${q(short(inv.script))}`;
    } else if (shellLanguage(argv[0]!) && argv.slice(1).every((a) => /^-[ilsx]+$/.test(a))) {
      // An interactive shell reads commands from stdin; without `stdin: true` that is empty.
      if (c.stdin === true) return [];
      verdict = { quick: 'certain', alwaysFails: false, alwaysSucceeds: true, seconds: 0 };
      what = `${list(argv)}, a shell with no script and no stdin,`;
    } else {
      verdict = analyzeArgv(argv);
      what = `the main process ${list(argv.slice(0, 4))}${argv.length > 4 ? ' …' : ''}`;
    }
    if (verdict.quick === 'no' || verdict.seconds >= BACKOFF_RESET_S) return [];
    const failure = verdict.alwaysFails ? 'error' : 'completed';
    const o = outcome(input, failure, verdict.alwaysFails || verdict.alwaysSucceeds ? undefined : 'Completed or Error');
    // Ending is a failure where the kubelet restarts it (or, for a status that is always
    // non-zero, wherever it runs); a Job's or a Never pod's process is meant to end.
    if (!o.fails || (!o.restarts && !verdict.alwaysFails)) return [];
    const status = verdict.alwaysSucceeds ? ' (exit status 0)' : verdict.alwaysFails ? ' (non-zero exit status)' : '';
    const long = verdict.seconds >= 60;
    const ends = verdict.seconds > 0 ? `ends after about ${duration(verdict.seconds)}` : verdict.quick === 'certain' ? 'ends at once' : 'ends soon';
    // Runs shorter than the reset window keep the back-off growing (kubelet restart back-off).
    const backoff =
      o.restarts && verdict.seconds >= BACKOFF_INITIAL_S
        ? `: the kubelet restarts it with a back-off of ${BACKOFF_INITIAL_S} s doubling up to ${BACKOFF_MAX_S / 60} min, as runs under ${BACKOFF_RESET_S / 60} min do not reset it (${o.text})`
        : `: ${o.text}`;
    return [
      {
        checkId: ID,
        container: c.name,
        certainty: verdict.quick === 'certain' && !long ? 'certain' : 'likely',
        message: `${what} ${ends}${status} and ${whyRestarted(input, s)}${backoff}`,
        fix: o.restarts ? 'run a long-lived process (or "sleep infinity" for a debug pod), or use a Job' : 'make the command do its work and exit 0',
      },
    ];
  },
};
