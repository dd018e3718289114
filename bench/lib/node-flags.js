// The Node.js flags the container image starts the webhook with, read from the Dockerfile's
// ENTRYPOINT (["node", <flags>..., "/app/dist/cli/main.js"]): the bench runs its servers and its
// memory children with the same flags, so what it measures is the process the image runs.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DOCKERFILE = fileURLToPath(new URL('../../Dockerfile', import.meta.url));

/** The flags between `node` and the script in the Dockerfile's last ENTRYPOINT. */
export function imageNodeFlags(dockerfile = readFileSync(DOCKERFILE, 'utf8')) {
  const entrypoints = [...dockerfile.matchAll(/^ENTRYPOINT\s+(\[.*\])\s*$/gm)];
  const last = entrypoints.at(-1);
  if (!last) throw new Error('the Dockerfile has no ENTRYPOINT in exec form');
  const argv = JSON.parse(last[1]);
  if (argv[0] !== 'node') throw new Error(`the Dockerfile's ENTRYPOINT does not start node: ${last[1]}`);
  const script = argv.findIndex((a, i) => i > 0 && !a.startsWith('-'));
  return argv.slice(1, script < 0 ? argv.length : script);
}
