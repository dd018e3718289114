// Every check, in the order their findings are reported.
import { commandSanity } from './command-sanity.js';
import { configRefs } from './config-refs.js';
import { effectiveCommand } from './effective-command.js';
import { executablePresent } from './executable-present.js';
import { exitsAtOnce } from './exits-at-once.js';
import { imageExists } from './image-exists.js';
import { imageReference } from './image-reference.js';
import { memoryLimit } from './memory-limit.js';
import { platform } from './platform.js';
import { probes } from './probes.js';
import type { CheckPorts } from './ports.js';
import { runAsNonRoot } from './run-as-non-root.js';
import { shellScript } from './shell-script.js';
import type { Check } from './types.js';

export const allChecks: readonly Check<CheckPorts>[] = [
  imageReference,
  imageExists,
  commandSanity,
  // issue 5: what the runtime finds in the image, and what the process does
  platform,
  effectiveCommand,
  executablePresent,
  shellScript,
  exitsAtOnce,
  runAsNonRoot,
  memoryLimit,
  probes,
  configRefs,
];
