// How runc finds the program to run, replayed on the image's file index. runc's init sets the
// process env, then calls Go's exec.LookPath(argv[0]) and execs the result
// (runc libcontainer/standard_init_linux.go; Go os/exec lp_unix.go):
//   - a name with a slash is used as is (relative to the working directory): a stat error gives
//     `exec: "/x": stat /x: no such file or directory`;
//   - a bare name is searched in each $PATH directory; a directory or a file without an execute
//     bit is skipped; none found gives `exec: "x": executable file not found in $PATH`;
//   - a found path that is a directory or not executable: `exec: "/x": is a directory` /
//     `exec: "/x": permission denied`;
//   - then execve(2): a script whose `#!` interpreter is missing fails with ENOENT,
//     `exec /entrypoint.sh: no such file or directory`.
import type { FileEntry, ImageFileSystem } from './ports.js';

export type ExecLookup =
  | { status: 'ok'; path: string; entry: FileEntry }
  /** The runtime's own error text in `error`. */
  | { status: 'not-found' | 'missing' | 'is-dir' | 'not-executable'; error: string }
  /** Found, but its `#!` interpreter is not in the image. */
  | { status: 'bad-interpreter'; path: string; interpreter: string; error: string };

const q = (s: string) => JSON.stringify(s);

function join(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

function absolute(path: string, workingDir: string): string {
  return path.startsWith('/') ? path : join(workingDir || '/', path);
}

function executable(entry: FileEntry): boolean {
  return entry.type === 'file' && (entry.mode & 0o111) !== 0;
}

/** Resolves argv[0] as runc would, inside the image. */
export function lookupExecutable(files: ImageFileSystem, name: string, path: string, workingDir: string): ExecLookup {
  let found: { path: string; entry: FileEntry } | undefined;
  if (name.includes('/')) {
    const hit = files.stat(absolute(name, workingDir));
    if (!hit) return { status: 'missing', error: `exec: ${q(name)}: stat ${name}: no such file or directory` };
    if (hit.entry.type === 'dir') return { status: 'is-dir', error: `exec: ${q(name)}: is a directory` };
    if (!executable(hit.entry)) return { status: 'not-executable', error: `exec: ${q(name)}: permission denied` };
    found = hit;
  } else {
    for (const dir of path.split(':')) {
      const hit = files.stat(absolute(join(dir === '' ? '.' : dir, name), workingDir));
      if (hit && executable(hit.entry)) {
        found = hit;
        break;
      }
    }
    if (!found) return { status: 'not-found', error: `exec: ${q(name)}: executable file not found in $PATH` };
  }
  const shebang = found.entry.shebang;
  if (shebang) {
    const interpreter = shebang.split(/\s+/)[0]!;
    if (interpreter.startsWith('/')) {
      const target = files.stat(interpreter);
      if (!target || !executable(target.entry)) {
        return { status: 'bad-interpreter', path: found.path, interpreter, error: `exec ${name.includes('/') ? name : found.path}: no such file or directory` };
      }
    }
  }
  return { status: 'ok', path: found.path, entry: found.entry };
}
