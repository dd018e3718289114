// The "fix" part of a finding for the machine-readable outputs. Messages are one line that ends
// with "; fix: …" when a fix is known (src/checks/*); a finding that carries the fix on its own
// (`fix`, being added to the Finding type) is used as is. The checks' own code is not imported
// for this so that the CLI keeps working while their wording changes.
import type { Finding } from '../checks/types.js';

const MARK = '; fix: ';

export interface FindingText {
  /** What will happen and why. */
  message: string;
  /** What to change, when the finding says. */
  fix: string | null;
}

export function findingText(f: Finding): FindingText {
  const own = (f as Finding & { fix?: unknown }).fix;
  if (typeof own === 'string' && own !== '') return { message: f.message, fix: own };
  const at = f.message.lastIndexOf(MARK);
  if (at < 0) return { message: f.message, fix: null };
  return { message: f.message.slice(0, at), fix: f.message.slice(at + MARK.length) };
}
