// executable-present: argv[0] must be a program inside the image. Resolved exactly as runc does
// (exec-lookup.ts): $PATH from the container env, else the image's; symlinks followed inside the
// image (/bin/sh -> busybox, merged /usr); the `#!` interpreter of a script must exist too.
// The classics: `sh -c ...` on a distroless image, `bash` on alpine, a Debian-built entrypoint
// script starting with #!/bin/bash copied onto alpine.
import { commandSanity } from './command-sanity.js';
import { outcome } from './consequence.js';
import { lookupExecutable } from './exec-lookup.js';
import { effectiveArgv, imageConfigFor, q, searchPath, workingDirOf, type EffectiveArgv } from './image-context.js';
import type { CheckPorts } from './ports.js';
import type { Check, Finding } from './types.js';

export const ID = 'executable-present';

function origin(e: EffectiveArgv): string {
  switch (e.origin) {
    case 'command':
      return 'command[0]';
    case 'entrypoint':
      return "the image's ENTRYPOINT";
    case 'args':
      return 'args[0] (the image has no ENTRYPOINT, so args[0] is run as the program)';
    case 'cmd':
      return "the image's CMD";
  }
}

export const executablePresent: Check<CheckPorts> = {
  id: ID,
  description: 'argv[0] must exist in the image as an executable file, found through $PATH and symlinks (else StartError)',
  async run(input, ports): Promise<Finding[]> {
    const c = input.target.container;
    // command-sanity already explains builtins and whole command lines in command[0].
    if (c.command && c.command.length > 0 && (await commandSanity.run(input, ports)).length > 0) return [];
    const image = await imageConfigFor(input, ports);
    if (!image || !ports.inspector) return [];
    const { config } = image.found;
    const eff = effectiveArgv(c, config);
    const name = eff.argv[0];
    // Empty argv is effective-command's; $(VAR) is expanded by the kubelet from env we may not see.
    if (name === undefined || name === '' || name.includes('$(')) return [];
    const finding = (certainty: Finding['certainty'], message: string, fix: string): Finding[] => [
      { checkId: ID, container: c.name, certainty, message, fix, detail: `image ${img}, PATH ${q(searchPath(c, config))}` },
    ];
    const img = q(input.image!.original);

    const files = await ports.inspector.files(input.image!, image.architecture, input.signal);
    if (files.status === 'unknown') {
      return [{ checkId: ID, container: c.name, certainty: 'unverified', message: `could not verify that ${q(name)} exists in image ${img}: ${files.reason}; allowed unchecked` }];
    }
    const hit = lookupExecutable(files.files, name, searchPath(c, config), workingDirOf(c, config));
    const start = outcome(input, 'start').text;
    switch (hit.status) {
      case 'ok':
        return [];
      case 'not-found':
        return finding('certain', `${origin(eff)} ${q(name)} is not in the image: the runtime fails with ${hit.error} (${start})`, `use a program the image has${name === 'bash' ? ' (e.g. sh)' : ''}, or an image that has ${q(name)}`);
      case 'missing':
      case 'is-dir':
        return finding('certain', `${origin(eff)} ${q(name)} is not a program in the image: the runtime fails with ${hit.error} (${start})`, 'correct the path');
      case 'not-executable':
        return finding('certain', `${origin(eff)} ${q(name)} is not executable in the image: the runtime fails with ${hit.error} (${start})`, 'chmod +x it in the image, or run it through its interpreter');
      case 'bad-interpreter':
        return finding(
          'certain',
          `${q(hit.path)} is a script for ${q(hit.interpreter)}, which the image does not have: the process fails with ${hit.error} (${outcome(input, 'error').text})`,
          'change its #! line or run it with an interpreter the image has',
        );
    }
  },
};
