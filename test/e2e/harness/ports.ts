import { freePort } from '../../helpers/ports.js';

export { freePort };

/** `n` distinct TCP ports on 127.0.0.1 that were free a moment ago. */
export async function freePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < n) out.add(await freePort());
  return [...out];
}
