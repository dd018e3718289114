// Reads Kubernetes manifests for `backoff-guard check`: YAML or JSON, multi-document, from a
// file, a directory (*.yaml, *.yml, *.json, recursively) or standard input. `kind: List` items
// are expanded. Problems are reported per document, never thrown past the caller.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface ManifestDoc {
  /** "file.yaml#2" (1-based document index), for messages. */
  source: string;
  object: unknown;
}

export interface ManifestError {
  source: string;
  message: string;
}

const EXTENSIONS = /\.(ya?ml|json)$/i;

function filesUnder(path: string): string[] {
  const st = statSync(path);
  if (!st.isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => {
      const p = join(path, e.name);
      if (e.isDirectory()) return filesUnder(p);
      return EXTENSIONS.test(e.name) ? [p] : [];
    });
}

function expand(object: unknown): unknown[] {
  if (object && typeof object === 'object' && (object as { kind?: unknown }).kind === 'List' && Array.isArray((object as { items?: unknown }).items)) {
    return (object as { items: unknown[] }).items.flatMap(expand);
  }
  return [object];
}

export function parseManifests(text: string, name: string): { docs: ManifestDoc[]; errors: ManifestError[] } {
  const docs: ManifestDoc[] = [];
  const errors: ManifestError[] = [];
  const parsed = parseAllDocuments(text);
  const list = Array.isArray(parsed) ? parsed : [parsed];
  list.forEach((doc, i) => {
    const source = `${name}#${i + 1}`;
    if (doc.errors.length > 0) {
      errors.push({ source, message: `not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}` });
      return;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return; // an empty document between ---
    for (const object of expand(value)) docs.push({ source, object });
  });
  return { docs, errors };
}

/** Reads `-` (stdin text given by the caller), a file or a directory. */
export function readManifests(target: string, stdin?: () => string): { docs: ManifestDoc[]; errors: ManifestError[] } {
  if (target === '-') return parseManifests(stdin ? stdin() : readFileSync(0, 'utf8'), '<stdin>');
  let files: string[];
  try {
    files = filesUnder(target);
  } catch (err) {
    return { docs: [], errors: [{ source: target, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }] };
  }
  const docs: ManifestDoc[] = [];
  const errors: ManifestError[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      errors.push({ source: file, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      continue;
    }
    const r = parseManifests(text, file);
    docs.push(...r.docs);
    errors.push(...r.errors);
  }
  return { docs, errors };
}
