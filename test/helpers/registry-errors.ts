// Shared by the registry tests: await a RegistryError, and a dns.lookup stand-in answering from a
// table (for the SSRF guard: names that resolve to addresses no real DNS here would give).
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from '../../src/registry/guard.js';
import { RegistryError } from '../../src/registry/index.js';

/** The RegistryError a call rejects with (fails the test on success or another error). */
export async function rejection(p: Promise<unknown>): Promise<RegistryError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RegistryError) return err;
    throw err;
  }
  throw new Error('expected a RegistryError, got success');
}

/** A dns.lookup stand-in answering from a table (and counting calls). */
export function fakeLookup(table: Record<string, string[]>): LookupFunction & { calls: string[] } {
  const calls: string[] = [];
  const fn = (hostname: string, options: unknown, cb: (err: NodeJS.ErrnoException | null, a: LookupAddress[] | string, f?: number) => void) => {
    calls.push(hostname);
    const list = table[hostname];
    if (!list) {
      const e: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
      e.code = 'ENOTFOUND';
      return cb(e, []);
    }
    const addrs = list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    if ((options as { all?: boolean }).all) return cb(null, addrs);
    return cb(null, addrs[0]!.address, addrs[0]!.family);
  };
  return Object.assign(fn as unknown as LookupFunction, { calls });
}
