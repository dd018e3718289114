// The image's merged file system, computed on demand from its layer indexes (lowest first), the
// way overlayfs shows it to the container: an upper layer's entry replaces a lower one; a
// whiteout deletes a lower path; an opaque directory hides the lower layers' content; an upper
// non-directory hides a lower directory's children (OCI image-spec layer.md "Applying Changesets").
// Nothing is merged up front: a lookup walks the layers from the top, so layer indexes stay
// shared between images in the cache.
import type { FileEntry, ImageFileSystem } from '../checks/ports.js';
import type { LayerIndex } from './tar-index.js';

const ROOT: FileEntry = { type: 'dir', mode: 0o755 };
/** Linux MAXSYMLINKS (fs/namei.c): more hops than this is ELOOP. */
const MAX_SYMLINK_HOPS = 40;

export class LayeredFileSystem implements ImageFileSystem {
  constructor(private readonly layers: readonly LayerIndex[]) {}

  /** The entry at a clean path ('a/b'), no symlink followed anywhere. */
  raw(path: string): FileEntry | undefined {
    return this.#rawBelow(path, this.layers.length);
  }

  /** raw() over the layers under index `top` only. */
  #rawBelow(path: string, top: number, linkHops = 0): FileEntry | undefined {
    if (path === '') return ROOT;
    const ancestors: string[] = [];
    for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) ancestors.push(path.slice(0, i));
    for (let l = top - 1; l >= 0; l--) {
      const layer = this.layers[l]!;
      const own = layer.entries.get(path);
      if (own?.hardlinkTo !== undefined && linkHops < this.layers.length) {
        // The inode of the file at that path in the layers below: its type and `#!` line.
        const lower = this.#rawBelow(own.hardlinkTo, l, linkHops + 1);
        return lower && lower.type === 'file' ? { ...lower, mode: own.mode } : own;
      }
      if (own) return own;
      if (layer.whiteouts.has(path)) return undefined;
      for (const a of ancestors) {
        if (layer.whiteouts.has(a) || layer.opaque.has(a)) return undefined;
        const e = layer.entries.get(a);
        if (e && e.type !== 'dir') return undefined;
      }
    }
    return undefined;
  }

  /**
   * Resolves a path the way the kernel does inside the container's root: '..' and absolute
   * symlink targets stay inside the image (chroot), relative targets are relative to the link's
   * directory. Missing intermediate directories that deeper entries imply are allowed.
   */
  #walk(path: string, followLast: boolean): { path: string; entry: FileEntry } | undefined {
    let queue = path.split('/');
    const resolved: string[] = [];
    let hops = 0;
    while (queue.length > 0) {
      const name = queue.shift()!;
      if (name === '' || name === '.') continue;
      if (name === '..') {
        resolved.pop();
        continue;
      }
      const candidate = resolved.length ? `${resolved.join('/')}/${name}` : name;
      const entry = this.raw(candidate);
      const last = queue.every((p) => p === '' || p === '.');
      if (entry?.type === 'symlink' && (!last || followLast)) {
        if (++hops > MAX_SYMLINK_HOPS) return undefined;
        const target = entry.target ?? '';
        if (target.startsWith('/')) resolved.length = 0;
        queue = [...target.split('/'), ...queue];
        continue;
      }
      if (!last && entry && entry.type !== 'dir') return undefined; // ENOTDIR
      resolved.push(name);
    }
    const final = resolved.join('/');
    const entry = this.raw(final);
    return entry ? { path: `/${final}`, entry } : undefined;
  }

  lstat(path: string): FileEntry | undefined {
    return this.#walk(path, false)?.entry;
  }

  stat(path: string): { path: string; entry: FileEntry } | undefined {
    return this.#walk(path, true);
  }
}
