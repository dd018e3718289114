// The Node.js flags the container image starts the webhook with, read from the Dockerfile's
// ENTRYPOINT (["node", <flags>..., "/app/dist/cli/main.js"]): the bench runs its servers and its
// memory children with the same flags, so what it measures is the process the image runs.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DOCKERFILE = fileURLToPath(new URL('../../Dockerfile', import.meta.url));

/** The flags between `node` and the script in the Dockerfile's last ENTRYPOINT. */
export function imageNodeFlags() {
  const last = [...readFileSync(DOCKERFILE, 'utf8').matchAll(/^ENTRYPOINT\s+(\[.*\])\s*$/gm)].at(-1);
  if (!last) throw new Error('the Dockerfile has no ENTRYPOINT in exec form');
  const [program, ...rest] = JSON.parse(last[1]);
  if (program !== 'node' || rest.length === 0) throw new Error(`the Dockerfile's ENTRYPOINT is not ["node", ..., script]: ${last[1]}`);
  return rest.slice(0, -1);
}
