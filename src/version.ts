// The version reported in the User-Agent and `--version`, read from package.json once.
import { readFileSync } from 'node:fs';

// src/version.ts and dist/version.js both sit one level below the project root.
export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
