// Every check, in the order their findings are reported.
import { commandSanity } from './command-sanity.js';
import { imageExists } from './image-exists.js';
import { imageReference } from './image-reference.js';
import type { CheckPorts } from './ports.js';
import type { Check } from './types.js';

export const allChecks: readonly Check<CheckPorts>[] = [imageReference, imageExists, commandSanity];
