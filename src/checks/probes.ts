// probes: probes that can never succeed. A failing liveness or startup probe makes the kubelet
// kill and restart the container, forever: "Liveness probe errored/failed" -> "Container x
// failed liveness probe, will be restarted" -> "Back-off restarting failed container"
// (CrashLoopBackOff). A readiness probe that never succeeds leaves the pod un-Ready: a warning.
// - exec: command[0] is run like the main process (runc exec, Go exec.LookPath), so a shell
//   builtin or a program the image lacks errors every time (`exec: "x": executable file not
//   found in $PATH`); a `sh -c` probe script that always exits non-zero fails every time.
// - httpGet / tcpSocket: a port given by name must be one of the container's named ports
//   (kubelet prober findPortByName: "port %s not found"); a number needs no declaration.
import { outcome as failureOutcome } from './consequence.js';
import { NEVER_A_FILE } from './command-sanity.js';
import { lookupExecutable } from './exec-lookup.js';
import { imageConfigFor, q, searchPath, text, workingDirOf } from './image-context.js';
import type { CheckPorts } from './ports.js';
import { analyzeScript, parseScript, shellInvocation } from './shell-analysis.js';
import { short } from './shell-script.js';
import type { Check, Finding } from './types.js';

export const ID = 'probes';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const KINDS = [
  ['livenessProbe', 'liveness', 'Liveness'],
  ['startupProbe', 'startup', 'Startup'],
  ['readinessProbe', 'readiness', 'Readiness'],
] as const;

export const probes: Check<CheckPorts> = {
  id: ID,
  description: 'liveness/startup probes must be able to succeed (exec command in the image, named ports declared), else the container is restarted forever',
  async run(input, ports): Promise<Finding[]> {
    const c = input.target.container;
    const out: Finding[] = [];
    let image: Awaited<ReturnType<typeof imageConfigFor>> | null = null; // fetched once, when needed
    for (const [field, name, Title] of KINDS) {
      const probe = c[field];
      if (!isObj(probe)) continue;
      const kills = name !== 'readiness';
      const certainty: Finding['certainty'] = kills ? 'certain' : 'likely';
      const outcome = kills ? `: ${failureOutcome(input, 'probe', name).text}` : ', so the pod never becomes Ready';
      const add = (message: string, fix: string, detail?: string) => out.push({ checkId: ID, container: c.name, certainty, message, fix, ...(detail ? { detail } : {}) });

      for (const kind of ['httpGet', 'tcpSocket'] as const) {
        const action = probe[kind];
        if (!isObj(action) || typeof action.port !== 'string' || /^\d+$/.test(action.port)) continue;
        const declared = (c.ports ?? []).some((p) => p.name === action.port);
        if (!declared) {
          add(`${name} probe ${kind} port ${q(action.port)} is not a named port of the container: every probe fails with "port ${action.port} not found"${outcome}`, 'name it in ports[], or give the number');
        }
      }

      const exec = probe.exec;
      if (!isObj(exec) || !Array.isArray(exec.command) || exec.command.length === 0) continue;
      const argv = exec.command.map(text);
      const cmd0 = argv[0]!;
      if (NEVER_A_FILE.has(cmd0) || /\s/.test(cmd0.trim())) {
        const what = NEVER_A_FILE.has(cmd0) ? 'is a shell builtin, not a program' : 'is a whole command line in one string';
        add(`${name} probe command[0] ${q(cmd0)} ${what}: every probe fails with exec: ${q(cmd0)}: executable file not found in $PATH${outcome}`, `command: ["sh", "-c", ${q(argv.join(' '))}]`);
        continue;
      }
      const inv = shellInvocation(argv);
      if (inv) {
        const parsed = parseScript(inv.script, inv.language);
        if (parsed.ok) {
          const v = analyzeScript(parsed.file);
          if (v.alwaysFails && v.quick === 'certain') {
            add(`${name} probe script ${q(short(inv.script))} always ends with ${q(v.failure ?? 'a failure')}: every probe fails${outcome}`, 'make the probe test what it should');
            continue;
          }
        }
      }
      if (!ports.inspector || !input.image || cmd0.includes('$(')) continue;
      image ??= await imageConfigFor(input, ports);
      if (!image) continue;
      const files = await ports.inspector.files(input.image, image.architecture, input.signal);
      if (files.status !== 'found') continue; // executable-present says "could not verify" once
      const hit = lookupExecutable(files.files, cmd0, searchPath(c, image.found.config), workingDirOf(c, image.found.config));
      if (hit.status === 'ok') continue;
      const why = hit.status === 'bad-interpreter' ? `needs ${q(hit.interpreter)}, which is not in the image` : 'is not in the image';
      add(`${name} probe command ${q(cmd0)} ${why}: every probe fails with ${hit.error}${outcome}`, 'use a program the image has, or an httpGet probe', `image ${q(input.image.original)}`);
    }
    return out;
  },
};
