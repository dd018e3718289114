// SSRF guard: which addresses the client may connect to.
//
// The webhook contacts whatever registry a pod spec names, so an attacker who can create
// pods could otherwise make it probe the node's loopback services or the cloud metadata
// endpoint (169.254.169.254 and friends) and read the answers back through error messages.
// Refused: loopback, link-local, cloud metadata and unspecified addresses, also when
// disguised as IPv4-mapped / IPv4-compatible / NAT64 IPv6 addresses. Allowed: everything
// else, including RFC 1918 private ranges and IPv6 ULAs, because in-cluster registries
// live there. A host configured `allowPrivateNetwork: true` skips the guard for its own
// names only: a redirect or token realm it points to on another name is still checked.
//
// The check must bind to the connection, not run before it: we install a `lookup` on the
// socket (net.connect's `lookup` option, passed through undici's `connect` options) that
// resolves every address, refuses the lot if any is forbidden, and hands exactly the checked
// addresses to the socket. Only one resolution happens per connection, so DNS rebinding
// (public answer at check time, 127.0.0.1 at connect time) has no window. IP literals never
// go through `lookup` in Node, so they are checked separately before the request.
import type { LookupAddress, LookupAllOptions, LookupOptions } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';

export type BlockReason = 'loopback' | 'link-local' | 'metadata' | 'unspecified';

export class BlockedAddressError extends Error {
  readonly code = 'EBLOCKED';
  constructor(
    readonly hostname: string,
    readonly address: string,
    readonly reason: BlockReason,
  ) {
    super(
      hostname === address
        ? `refusing to connect to ${reason} address ${address}`
        : `refusing to connect to ${hostname}: it resolves to ${reason} address ${address}`,
    );
    this.name = 'BlockedAddressError';
  }
}

/** Parses an IPv4 dotted quad into 4 bytes, or undefined. */
function v4Bytes(ip: string): number[] | undefined {
  if (isIP(ip) !== 4) return undefined;
  return ip.split('.').map((p) => Number(p));
}

/** Parses an IPv6 address (optionally with an embedded IPv4 tail or a zone) into 16 bytes. */
function v6Bytes(input: string): number[] | undefined {
  const ip = input.replace(/%.*$/, '');
  if (isIP(ip) !== 6) return undefined;
  let head = ip;
  let tail4: number[] = [];
  const lastColon = ip.lastIndexOf(':');
  if (ip.slice(lastColon + 1).includes('.')) {
    const v4 = v4Bytes(ip.slice(lastColon + 1));
    if (!v4) return undefined;
    tail4 = v4;
    head = ip.slice(0, lastColon + 1) + '0:0'; // placeholder groups, replaced below
  }
  const [left = '', right] = head.split('::');
  const l = left === '' ? [] : left.split(':');
  const r = right === undefined ? [] : right === '' ? [] : right.split(':');
  const missing = 8 - l.length - r.length;
  if (right === undefined && missing !== 0) return undefined;
  const groups = [...l, ...Array<string>(right === undefined ? 0 : missing).fill('0'), ...r].map((g) => parseInt(g, 16));
  if (groups.length !== 8 || groups.some((g) => Number.isNaN(g))) return undefined;
  const bytes = groups.flatMap((g) => [g >> 8, g & 0xff]);
  if (tail4.length === 4) bytes.splice(12, 4, ...tail4);
  return bytes;
}

function classifyV4(b: number[]): BlockReason | undefined {
  const [a = 0, b1 = 0, c = 0, d = 0] = b;
  if (a === 169 && b1 === 254 && c === 169 && d === 254) return 'metadata'; // AWS/GCP/Azure IMDS
  if (a === 100 && b1 === 100 && c === 100 && d === 200) return 'metadata'; // Alibaba Cloud
  if (a === 127) return 'loopback'; // 127.0.0.0/8, RFC 1122
  if (a === 0) return 'unspecified'; // 0.0.0.0/8 "this network": Linux connects it to the local host
  if (a === 169 && b1 === 254) return 'link-local'; // 169.254.0.0/16, RFC 3927
  return undefined;
}

/**
 * Why connecting to `ip` is refused, or undefined when it is allowed.
 * Non-IP strings are not classified here (they are host names for `lookup`).
 */
export function blockedReason(ip: string): BlockReason | undefined {
  const v4 = v4Bytes(ip);
  if (v4) return classifyV4(v4);
  const b = v6Bytes(ip);
  if (!b) return undefined;
  const zeros = (from: number, to: number): boolean => b.slice(from, to).every((x) => x === 0);
  if (zeros(0, 16)) return 'unspecified'; // ::
  if (zeros(0, 15) && b[15] === 1) return 'loopback'; // ::1
  if (b[0] === 0xfe && ((b[1] ?? 0) & 0xc0) === 0x80) return 'link-local'; // fe80::/10
  // fd00:ec2::254, the AWS IMDS IPv6 endpoint.
  if (b[0] === 0xfd && b[1] === 0 && b[2] === 0x0e && b[3] === 0xc2 && zeros(4, 14) && b[14] === 0x02 && b[15] === 0x54) return 'metadata';
  // IPv4 inside IPv6 reaches the IPv4 host: ::ffff:a.b.c.d (mapped, RFC 4291 §2.5.5.2),
  // ::a.b.c.d (compatible, deprecated but still routed by some stacks), 64:ff9b::/96 (NAT64, RFC 6052).
  const mapped = zeros(0, 10) && b[10] === 0xff && b[11] === 0xff;
  const compatible = zeros(0, 12);
  const nat64 = b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12);
  if (mapped || compatible || nat64) return classifyV4(b.slice(12, 16));
  return undefined;
}

/** Strips the brackets WHATWG URL keeps around IPv6 literals in `hostname`. */
export function unbracket(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/**
 * Checks a URL hostname that is an IP literal (these bypass `lookup`). Returns the refusal,
 * or undefined for allowed literals and for host names (checked at connect time instead).
 */
export function checkLiteralHost(hostname: string): BlockedAddressError | undefined {
  const ip = unbracket(hostname);
  if (isIP(ip) === 0) return undefined;
  const reason = blockedReason(ip);
  return reason ? new BlockedAddressError(ip, ip, reason) : undefined;
}

/** The shape of dns.lookup we rely on: the `all: true` form. */
export type LookupFunction = typeof dnsLookup;
type ConnectLookup = (
  hostname: string,
  options: LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
) => void;

/**
 * A `lookup` for net/tls.connect that resolves all addresses through `base`, refuses the
 * connection when any of them is forbidden, and otherwise answers with exactly those
 * addresses (in whichever form the socket asked for: one address, or all of them when
 * Node's happy-eyeballs `autoSelectFamily` is on).
 */
export function guardedLookup(base: LookupFunction = dnsLookup, exempt?: (hostname: string) => boolean): ConnectLookup {
  return (hostname, options, callback) => {
    if (exempt?.(hostname)) {
      // A name the operator configured as private: resolved as is, still one resolution.
      (base as unknown as ConnectLookup)(hostname, options, callback);
      return;
    }
    const opts: LookupAllOptions = { ...options, all: true };
    (base as unknown as (h: string, o: LookupAllOptions, cb: (err: NodeJS.ErrnoException | null, a: LookupAddress[]) => void) => void)(
      hostname,
      opts,
      (err, addresses) => {
        if (err) return callback(err, '', 0);
        const list = Array.isArray(addresses) ? addresses : [];
        if (list.length === 0) {
          const e: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
          e.code = 'ENOTFOUND';
          return callback(e, '', 0);
        }
        for (const a of list) {
          const reason = blockedReason(a.address);
          if (reason) return callback(new BlockedAddressError(hostname, a.address, reason) as NodeJS.ErrnoException, '', 0);
        }
        if (options.all) return callback(null, list);
        const first = list[0]!;
        return callback(null, first.address, first.family);
      },
    );
  };
}
