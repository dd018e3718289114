// A streaming tar header reader: turns one image layer (an uncompressed tar stream) into the list
// of paths it adds and the paths it deletes, without keeping file contents.
//
// Formats read: POSIX ustar (name + prefix), GNU (long names 'L'/'K', base-256 sizes), PAX
// extended headers ('x': path, linkpath, size; 'g' is read and ignored), as written by docker,
// buildkit, kaniko, ko, Bazel rules_oci and Go's archive/tar (POSIX.1-2017 pax, GNU tar manual
// "Basic Tar Format").
//
// Layer semantics (OCI image-spec layer.md "Whiteouts"): a file `.wh.<name>` deletes <name> from
// the layers below; `.wh..wh..opq` in a directory hides everything the layers below put in that
// directory. A whiteout applies only to lower layers, never to entries of its own layer, so the
// deletions are kept apart from the entries and applied by file-tree.ts.
import type { FileEntry } from '../checks/ports.js';

export interface LayerIndex {
  /** Paths this layer adds or replaces, without a leading '/': 'bin/sh', 'usr/lib'. */
  entries: Map<string, FileEntry>;
  /** Paths deleted from the layers below (`.wh.<name>`). */
  whiteouts: Set<string>;
  /** Directories whose content from the layers below is hidden (`.wh..wh..opq`). */
  opaque: Set<string>;
  /** Estimated memory held by this index, for the cache's budget. */
  bytes: number;
}

export class TarFormatError extends Error {
  readonly code = 'TAR_FORMAT';
}

const BLOCK = 512;
const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
/** Bytes kept from the start of an executable file to read its `#!` line. */
const SHEBANG_BYTES = 256;
/** PAX and GNU long-name records are small; anything bigger is a broken or hostile archive. */
const MAX_META_BYTES = 1024 * 1024;
/** A rough per-entry cost of a Map slot and the entry object (V8, 64-bit). */
const ENTRY_OVERHEAD = 120;

/** 'bin/sh', './bin/sh', '/bin/sh/' and 'bin//x/../sh' all become 'bin/sh'; the root is ''. */
export function cleanPath(name: string): string {
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

function cString(buf: Buffer, start: number, length: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString('utf8', start, end >= start && end < start + length ? end : start + length);
}

/** An octal field, or GNU base-256 when the high bit of the first byte is set. */
function numeric(buf: Buffer, start: number, length: number): number {
  if (buf[start]! & 0x80) {
    let value = buf[start]! & 0x7f;
    for (let i = start + 1; i < start + length; i++) value = value * 256 + buf[i]!;
    return value;
  }
  const text = buf.toString('ascii', start, start + length).replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  const value = Number.parseInt(text, 8);
  if (!Number.isFinite(value)) throw new TarFormatError(`bad numeric field "${text}"`);
  return value;
}

function checksumOk(h: Buffer): boolean {
  const stored = numeric(h, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  // Old tars summed signed chars; both are accepted by GNU tar and Go's archive/tar.
  return stored === unsigned || stored === signed;
}

/** PAX records: "<len> <key>=<value>\n" (POSIX.1-2017 pax, "pax Extended Header"). */
function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = Number.parseInt(data.toString('ascii', pos, space), 10);
    if (!Number.isFinite(len) || len <= 0 || pos + len > data.length) break;
    const record = data.toString('utf8', space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

type Meta = 'pax' | 'global' | 'longname' | 'longlink';

interface Pending {
  path: string;
  entry: FileEntry;
  /** Regular file bytes still to read (data only, not padding). */
  size: number;
  /** Collecting the start of the data: an executable's `#!` line, or a meta record. */
  collect?: { kind: 'shebang' | Meta; want: number; chunks: Buffer[]; have: number };
}

/**
 * Push-style tar reader: feed it chunks with write(), then end(). Synchronous and allocation-light:
 * headers are parsed in place, file data is skipped without copying.
 */
export class TarIndexer {
  readonly index: LayerIndex = { entries: new Map(), whiteouts: new Set(), opaque: new Set(), bytes: 0 };
  /** A layer listing more files than this much memory is refused (a bound, not a cache budget). */
  readonly #maxIndexBytes: number;

  constructor(opts: { maxIndexBytes?: number } = {}) {
    this.#maxIndexBytes = opts.maxIndexBytes ?? Number.POSITIVE_INFINITY;
  }

  #header = Buffer.alloc(BLOCK);
  #headerFill = 0;
  /** Bytes to skip or collect before the next header (data + padding). */
  #remaining = 0;
  #current: Pending | undefined;
  #pax: Record<string, string> = {};
  #longName: string | undefined;
  #longLink: string | undefined;
  #zeroBlocks = 0;
  #ended = false;
  #sawHeader = false;

  /** True once the end-of-archive marker (two zero blocks) was read. */
  get done(): boolean {
    return this.#ended;
  }

  write(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length && !this.#ended) {
      if (this.#remaining > 0) {
        const n = Math.min(this.#remaining, chunk.length - pos);
        this.#data(chunk, pos, n);
        this.#remaining -= n;
        pos += n;
        if (this.#remaining === 0) this.#finishEntry();
        continue;
      }
      const n = Math.min(BLOCK - this.#headerFill, chunk.length - pos);
      if (this.#headerFill === 0 && n === BLOCK) {
        this.#onHeader(chunk.subarray(pos, pos + BLOCK));
      } else {
        chunk.copy(this.#header, this.#headerFill, pos, pos + n);
        this.#headerFill += n;
        if (this.#headerFill === BLOCK) {
          this.#headerFill = 0;
          this.#onHeader(this.#header);
        }
      }
      pos += n;
    }
  }

  /** Call after the last chunk: a truncated archive is an error (the layer cannot be trusted). */
  end(): LayerIndex {
    if (this.#remaining > 0 || this.#headerFill > 0) throw new TarFormatError('truncated tar archive');
    // Archives without the end marker are accepted (Go's archive/tar does too) if they had headers.
    if (!this.#ended && !this.#sawHeader) throw new TarFormatError('empty tar archive');
    return this.index;
  }

  #data(chunk: Buffer, pos: number, n: number): void {
    const cur = this.#current;
    if (!cur?.collect) return;
    const c = cur.collect;
    if (c.have >= c.want) return;
    const take = Math.min(n, c.want - c.have);
    c.chunks.push(Buffer.from(chunk.subarray(pos, pos + take)));
    c.have += take;
  }

  #onHeader(h: Buffer): void {
    if (h.every((b) => b === 0)) {
      if (++this.#zeroBlocks >= 2) this.#ended = true;
      return;
    }
    this.#zeroBlocks = 0;
    if (!checksumOk(h)) throw new TarFormatError('not a tar archive (bad header checksum)');
    this.#sawHeader = true;
    const type = String.fromCharCode(h[156]!);
    const size = numeric(h, 124, 12);
    const magic = h.toString('ascii', 257, 263);
    let name = cString(h, 0, 100);
    if (magic === 'ustar\0') {
      const prefix = cString(h, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    const meta: Meta | undefined = type === 'x' ? 'pax' : type === 'g' ? 'global' : type === 'L' ? 'longname' : type === 'K' ? 'longlink' : undefined;
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (meta) {
      if (size > MAX_META_BYTES) throw new TarFormatError(`tar ${meta} record of ${size} bytes`);
      this.#current = { path: '', entry: { type: 'other', mode: 0 }, size, collect: { kind: meta, want: size, chunks: [], have: 0 } };
      this.#remaining = padded;
      if (padded === 0) this.#finishEntry();
      return;
    }

    const pax = this.#pax;
    this.#pax = {};
    const path = cleanPath(pax['path'] ?? this.#longName ?? name);
    const linkName = pax['linkpath'] ?? this.#longLink ?? cString(h, 157, 100);
    this.#longName = undefined;
    this.#longLink = undefined;
    const dataSize = pax['size'] !== undefined ? Number(pax['size']) : size;
    if (!Number.isSafeInteger(dataSize) || dataSize < 0) throw new TarFormatError('bad size in pax header');
    const mode = numeric(h, 100, 8) & 0o7777;

    let entry: FileEntry;
    switch (type) {
      case '0':
      case '\0':
      case '7':
      case 'S': // GNU sparse: a regular file
        entry = { type: 'file', mode };
        break;
      case '1': {
        // A hard link shares the inode of an earlier entry of this layer or a lower one; a lower
        // one is resolved by file-tree.ts, which sees the layers below.
        const targetPath = cleanPath(linkName);
        const target = this.index.entries.get(targetPath);
        entry = target ? { ...target, mode } : { type: 'file', mode, hardlinkTo: targetPath };
        break;
      }
      case '2':
        entry = { type: 'symlink', mode, target: linkName };
        break;
      case '5':
      case 'D':
        entry = { type: 'dir', mode };
        break;
      case 'V': // GNU volume label: not a file
        this.#current = undefined;
        this.#remaining = padded;
        return;
      default:
        entry = { type: 'other', mode };
    }
    // Header-only types carry no data whatever their size field says (Go archive/tar isHeaderOnlyType).
    const headerOnly = '123456'.includes(type);
    const carriesData = entry.type === 'file' && !headerOnly;
    const bytesInArchive = headerOnly ? 0 : carriesData ? Math.ceil(dataSize / BLOCK) * BLOCK : padded;
    const wantsShebang = carriesData && (mode & 0o111) !== 0 && dataSize > 2;
    this.#current = {
      path,
      entry,
      size: dataSize,
      ...(wantsShebang ? { collect: { kind: 'shebang' as const, want: Math.min(SHEBANG_BYTES, dataSize), chunks: [], have: 0 } } : {}),
    };
    this.#remaining = bytesInArchive;
    if (bytesInArchive === 0) this.#finishEntry();
  }

  #finishEntry(): void {
    const cur = this.#current;
    this.#current = undefined;
    if (!cur) return;
    const c = cur.collect;
    if (c && c.kind !== 'shebang') {
      const data = Buffer.concat(c.chunks);
      if (c.kind === 'pax') this.#pax = parsePax(data);
      else if (c.kind === 'longname') this.#longName = data.toString('utf8').replace(/\0.*$/s, '');
      else if (c.kind === 'longlink') this.#longLink = data.toString('utf8').replace(/\0.*$/s, '');
      return; // 'global' headers: nothing we use
    }
    if (c?.kind === 'shebang') {
      const head = Buffer.concat(c.chunks);
      if (head[0] === 0x23 && head[1] === 0x21) {
        const nl = head.indexOf(0x0a);
        const line = head.toString('utf8', 2, nl >= 0 ? nl : head.length).replace(/\r$/, '').trim();
        if (line) cur.entry.shebang = line;
      }
    }
    this.#add(cur.path, cur.entry);
  }

  #add(path: string, entry: FileEntry): void {
    const slash = path.lastIndexOf('/');
    const base = path.slice(slash + 1);
    const dir = slash >= 0 ? path.slice(0, slash) : '';
    const idx = this.index;
    if (base.startsWith(WHITEOUT_PREFIX)) {
      if (base === OPAQUE_MARKER) idx.opaque.add(dir);
      else idx.whiteouts.add(dir ? `${dir}/${base.slice(WHITEOUT_PREFIX.length)}` : base.slice(WHITEOUT_PREFIX.length));
      idx.bytes += ENTRY_OVERHEAD + path.length * 2;
      return;
    }
    if (path === '') return; // the root directory itself
    const existing = idx.entries.get(path);
    if (!existing) idx.bytes += ENTRY_OVERHEAD + path.length * 2 + (entry.target?.length ?? 0) * 2 + (entry.shebang?.length ?? 0) * 2;
    idx.entries.set(path, entry);
    if (idx.bytes > this.#maxIndexBytes) throw new TarFormatError(`the layer lists too many files (index over ${this.#maxIndexBytes} bytes)`);
  }
}

/** Indexes a whole tar given as chunks (tests, and layers already in memory). */
export function indexTarBuffer(...chunks: Buffer[]): LayerIndex {
  const t = new TarIndexer();
  for (const c of chunks) t.write(c);
  return t.end();
}
