// Progress of a long `check` on a terminal: objects done out of all, and the registries that the
// objects still being checked pull from. One line on stderr, redrawn at most every 100 ms and
// erased at the end, so stdout (the report) stays clean; nothing at all when stderr is not a
// TTY (CI logs, pipes), as a log would fill with redraws.
import type { Progress } from './check.js';

export interface ProgressStream {
  isTTY?: boolean;
  write(chunk: string): unknown;
}

const ERASE = '\r\u001b[2K';

export function terminalProgress(stream: ProgressStream, now: () => number = Date.now, intervalMs = 100): Progress | undefined {
  if (!stream.isTTY) return undefined;
  let total = 0;
  let done = 0;
  let last = -Infinity;
  let shown = false;
  const waiting = new Map<string, number>();
  const draw = (force = false) => {
    const t = now();
    if (!force && t - last < intervalMs) return;
    last = t;
    const hosts = [...waiting.keys()].sort();
    const tail = hosts.length ? `, waiting on ${hosts.slice(0, 3).join(', ')}${hosts.length > 3 ? ` and ${hosts.length - 3} more` : ''}` : '';
    stream.write(`${ERASE}backoff-guard: ${done}/${total} objects checked${tail}`);
    shown = true;
  };
  return {
    start(n) {
      total = n;
      draw(true);
    },
    begin(registries) {
      for (const r of registries) waiting.set(r, (waiting.get(r) ?? 0) + 1);
      draw();
    },
    end(registries) {
      for (const r of registries) {
        const n = (waiting.get(r) ?? 1) - 1;
        if (n <= 0) waiting.delete(r);
        else waiting.set(r, n);
      }
      done++;
      draw();
    },
    finish() {
      if (shown) stream.write(ERASE);
    },
  };
}
