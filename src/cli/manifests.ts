// Reads Kubernetes manifests for `backoff-guard check`: YAML or JSON, multi-document, from a
// file, a directory (*.yaml, *.yml, *.json, recursively) or standard input. `kind: List` items
// are expanded. Problems are reported per document, never thrown past the caller. Every object
// keeps its YAML node, so a finding can name the line of its container (source-positions.ts).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isSeq, LineCounter, parseAllDocuments, type Node } from 'yaml';
import { locator, positionOf, type SourcePosition } from './source-positions.js';

export interface ManifestDoc {
  /** "file.yaml#2" (1-based document index), for messages. */
  source: string;
  object: unknown;
  /** The file on disk the positions refer to; undefined for standard input and rendered output. */
  file?: string;
  /** What was read: the file path, "<stdin>" or "kubectl kustomize DIR". */
  input: string;
  /** 1-based document index in the input. */
  document: number;
  /** Where the object starts in the input text. */
  position?: SourcePosition;
  /** The position of a JSON path in the object (e.g. spec.containers[0]). */
  locate: (path: string) => SourcePosition | undefined;
  /** The chart template named by helm template's "# Source: …" comment above the document. */
  template?: string;
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

/** The objects of a document with their nodes; `kind: List` items, nested Lists too, one by one. */
function expand(object: unknown, node: Node | undefined): { object: unknown; node: Node | undefined }[] {
  if (object && typeof object === 'object' && (object as { kind?: unknown }).kind === 'List' && Array.isArray((object as { items?: unknown }).items)) {
    const itemsNode = isMap(node) ? node.get('items', true) : undefined;
    return (object as { items: unknown[] }).items.flatMap((item, i) => expand(item, isSeq(itemsNode) ? (itemsNode.items[i] as Node | undefined) : undefined));
  }
  return [{ object, node }];
}

/** helm template writes "# Source: chart/templates/file.yaml" above each document. */
function templateOf(comment: string | null | undefined): string | undefined {
  const m = comment ? /^\s*Source: (\S.*)$/m.exec(comment) : null;
  return m?.[1]?.trim();
}

/**
 * Parses `text`, read from `name`. `file` is set when the text is that file's content, so that
 * line numbers may be reported against it.
 */
export function parseManifests(text: string, name: string, file?: string): { docs: ManifestDoc[]; errors: ManifestError[] } {
  const docs: ManifestDoc[] = [];
  const errors: ManifestError[] = [];
  const lines = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter: lines });
  const list = Array.isArray(parsed) ? parsed : [parsed];
  list.forEach((doc, i) => {
    const source = `${name}#${i + 1}`;
    if (doc.errors.length > 0) {
      errors.push({ source, message: `not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}` });
      return;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return; // an empty document between ---
    // The comment is the document's, or its first node's when it follows the --- marker.
    const template = templateOf(doc.commentBefore) ?? templateOf((doc.contents as { commentBefore?: string | null } | null)?.commentBefore);
    for (const { object, node } of expand(value, (doc.contents ?? undefined) as Node | undefined)) {
      const position = positionOf(node, lines);
      docs.push({
        source,
        object,
        input: name,
        document: i + 1,
        locate: locator(node, lines),
        ...(file !== undefined ? { file } : {}),
        ...(position ? { position } : {}),
        ...(template ? { template } : {}),
      });
    }
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
    const r = parseManifests(text, file, file);
    docs.push(...r.docs);
    errors.push(...r.errors);
  }
  return { docs, errors };
}
