// exits-at-once: under restartPolicy Always (Deployments, StatefulSets, DaemonSets, ReplicaSets,
// a bare Pod by default, sidecars) a main process that ends, even with status 0, is restarted
// with growing back-off: "Back-off restarting failed container", CrashLoopBackOff. Predicted when
// the process is certain to end quickly: `echo`, `true`, `exit 0`, `env`, `date`, `sleep 5`, a
// script made only of such commands, or a shell started with no script and no stdin (the
// busybox image's CMD ["sh"]). Jobs, init containers and ephemeral containers are meant to end.
// Under restartPolicy OnFailure only a failing process is restarted.
import { commandSanity } from './command-sanity.js';
import { analyzeArgv, analyzeScript, basename, parseScript, shellInvocation, shellLanguage, type ScriptVerdict } from './shell-analysis.js';
import { list, q, restartsWhenDone } from './image-context.js';
import type { CheckPorts } from './ports.js';
import { runArgv, short } from './shell-script.js';
import type { Check, Finding } from './types.js';

export const ID = 'exits-at-once';

export const exitsAtOnce: Check<CheckPorts> = {
  id: ID,
  description: 'under restartPolicy Always the main process must not end at once (echo, true, sleep 5...: CrashLoopBackOff)',
  async run(input, ports): Promise<Finding[]> {
    const policy = restartsWhenDone(input);
    if (policy === 'never') return [];
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
      verdict = { quick: 'certain', alwaysFails: false, alwaysSucceeds: true };
      what = `${list(argv)}, a shell with no script and no stdin,`;
    } else {
      verdict = analyzeArgv(argv);
      what = `the main process ${list(argv.slice(0, 4))}${argv.length > 4 ? ' …' : ''}`;
    }
    if (verdict.quick === 'no') return [];
    if (policy === 'on-failure' && !verdict.alwaysFails) return [];
    const status = verdict.alwaysSucceeds ? ' (exit status 0)' : verdict.alwaysFails ? ' (non-zero exit status)' : '';
    const restart = policy === 'always' ? (input.target.sidecar ? 'sidecars are restarted' : `${input.workload.kind === 'Pod' ? 'restartPolicy is Always' : `a ${input.workload.kind}'s pods always restart`}`) : 'restartPolicy is OnFailure';
    return [
      {
        checkId: ID,
        container: c.name,
        certainty: verdict.quick === 'certain' ? 'certain' : 'likely',
        message: `${what} ${verdict.quick === 'certain' ? 'ends at once' : 'ends soon'}${status} and ${restart}: "Back-off restarting failed container" (CrashLoopBackOff); fix: run a long-lived process (or "sleep infinity" for a debug pod), or use a Job`,
      },
    ];
  },
};
