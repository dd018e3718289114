// The Docker Official Images (docker.io/library/*), shipped as a plain list in
// data/docker-official-images.txt (taken from the library/ folder of
// docker-library/official-images). Used to say "did you mean nginx?" when a
// familiar name does not exist on Docker Hub.

import { readFileSync } from 'node:fs';
import { closestMatches } from './closest.js';

// Both src/image/ (tests run the TypeScript sources) and dist/image/ (after
// tsc) sit two levels below the project root, so one relative URL serves both.
const LIST_URL = new URL('../../data/docker-official-images.txt', import.meta.url);

let cache: ReadonlySet<string> | undefined;

/** The official image names ('nginx', 'postgres', ...), read once on first use. */
export function officialImages(): ReadonlySet<string> {
  cache ??= parseList(readFileSync(LIST_URL, 'utf8'));
  return cache;
}

/** One name a line; '#' starts a comment line; blank lines and surrounding spaces are ignored. */
export function parseList(text: string): ReadonlySet<string> {
  const names = new Set<string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    names.add(line);
  }
  return names;
}

/**
 * Official images whose name is close to `name`, best first; [] when `name`
 * is itself an official image or nothing is close. Accepts the bare name
 * ('ngiinx') or its Docker Hub forms ('library/ngiinx',
 * 'docker.io/library/ngiinx'); suggestions are bare names.
 */
export function suggestOfficialImage(name: string): string[] {
  const bare = name.replace(/^(?:(?:docker\.io|index\.docker\.io)\/)?library\//, '');
  return closestMatches(bare, officialImages());
}
