// Builds tar layers for the inspection tests: regular files with modes, directories, symlinks,
// hard links, whiteouts, and long names as PAX records or GNU 'L' headers (not a test file).
// Written from the formats (POSIX.1-2017 pax "ustar Interchange Format", GNU tar manual), apart
// from src/inspect so that a bug there cannot shape its own fixtures; test/inspect also checks
// the reader against archives made by the system's GNU tar.

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'fifo';

export interface TarEntry {
  path: string;
  type?: TarEntryType;
  /** Default 0o755 for files and dirs, 0o777 for symlinks. */
  mode?: number;
  content?: string | Buffer;
  /** Symlink or hard link target. */
  target?: string;
}

export interface BuildTarOptions {
  /** How names longer than 100 bytes are written (default 'pax'). */
  longNames?: 'pax' | 'gnu';
  /** Leave out the end-of-archive marker (some writers do). */
  noEndMarker?: boolean;
}

const TYPEFLAG: Record<TarEntryType, string> = { file: '0', dir: '5', symlink: '2', hardlink: '1', fifo: '6' };

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, typeflag: string, size: number, mode: number, linkname = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(0, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(typeflag, 156, 'ascii');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

function pad(data: Buffer): Buffer[] {
  const rest = (512 - (data.length % 512)) % 512;
  return rest ? [data, Buffer.alloc(rest)] : [data];
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

export function buildTar(entries: TarEntry[], opts: BuildTarOptions = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? 'file';
    const data = type === 'file' ? (Buffer.isBuffer(e.content) ? e.content : Buffer.from(e.content ?? '')) : Buffer.alloc(0);
    const mode = e.mode ?? (type === 'symlink' ? 0o777 : 0o755);
    let name = type === 'dir' && !e.path.endsWith('/') ? `${e.path}/` : e.path;
    let link = e.target ?? '';
    const long = Buffer.byteLength(name) > 100 || Buffer.byteLength(link) > 100;
    if (long && (opts.longNames ?? 'pax') === 'pax') {
      const records = Buffer.from((Buffer.byteLength(name) > 100 ? paxRecord('path', name) : '') + (Buffer.byteLength(link) > 100 ? paxRecord('linkpath', link) : ''));
      blocks.push(header('PaxHeaders/x', 'x', records.length, 0o644), ...pad(records));
      name = name.slice(0, 99);
      link = link.slice(0, 99);
    } else if (long) {
      if (Buffer.byteLength(link) > 100) {
        const l = Buffer.from(`${link}\0`);
        blocks.push(header('././@LongLink', 'K', l.length, 0o644), ...pad(l));
        link = link.slice(0, 99);
      }
      if (Buffer.byteLength(name) > 100) {
        const n = Buffer.from(`${name}\0`);
        blocks.push(header('././@LongLink', 'L', n.length, 0o644), ...pad(n));
        name = name.slice(0, 99);
      }
    }
    blocks.push(header(name, TYPEFLAG[type], data.length, mode, link));
    if (data.length) blocks.push(...pad(data));
  }
  if (!opts.noEndMarker) blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** A whiteout entry deleting `path` from the layers below. */
export const whiteout = (path: string): TarEntry => {
  const slash = path.lastIndexOf('/');
  return { path: `${path.slice(0, slash + 1)}.wh.${path.slice(slash + 1)}`, mode: 0o644, content: '' };
};

/** The opaque marker of a directory. */
export const opaque = (dir: string): TarEntry => ({ path: `${dir.replace(/\/$/, '')}/.wh..wh..opq`, mode: 0o644, content: '' });

/** A small ELF-looking executable (content does not matter, mode does). */
export const binary = (path: string, mode = 0o755): TarEntry => ({ path, mode, content: Buffer.from('\x7fELF\x02\x01\x01\0fake binary') });

/** An executable script with a shebang. */
export const script = (path: string, interpreter: string, body = 'exit 0\n'): TarEntry => ({ path, mode: 0o755, content: `#!${interpreter}\n${body}` });
