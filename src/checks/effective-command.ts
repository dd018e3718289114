// effective-command: the argv the runtime builds from the pod spec and the image config must not
// be empty. containerd's CRI plugin (WithProcessArgs): `command` replaces ENTRYPOINT and drops
// CMD, `args` alone replaces CMD, ENTRYPOINT [""] counts as none; nothing left is
// `failed to generate spec: no command specified` (CreateContainerError, retried forever).
import { outcome } from './consequence.js';
import { effectiveArgv, imageConfigFor, q } from './image-context.js';
import type { CheckPorts } from './ports.js';
import type { Check, Finding } from './types.js';

export const ID = 'effective-command';

export const effectiveCommand: Check<CheckPorts> = {
  id: ID,
  description: 'the image ENTRYPOINT/CMD and the container command/args must leave a program to run (else CreateContainerError: no command specified)',
  async run(input, ports): Promise<Finding[]> {
    const c = input.target.container;
    if (c.command && c.command.length > 0) return []; // the spec alone decides; command-sanity judges it
    const image = await imageConfigFor(input, ports);
    if (!image) return [];
    const { config } = image.found;
    const { argv } = effectiveArgv(c, config);
    if (argv.length > 0) return [];
    const emptyEntrypoint = config.entrypoint?.length === 1 && config.entrypoint[0] === '';
    return [
      {
        checkId: ID,
        container: c.name,
        certainty: 'certain',
        message: `the image has no ${emptyEntrypoint ? 'ENTRYPOINT (it is [""])' : 'ENTRYPOINT'} and no CMD, and the container sets no command: the runtime fails with "failed to generate spec: no command specified" (${outcome(input, 'create', 'CreateContainerError').text})`,
        fix: 'set command: ["/path/to/program"] in the container',
        detail: `image ${q(input.image!.original)}`,
      },
    ];
  },
};
