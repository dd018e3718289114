// Where a value sits in the YAML text it was read from: line and column (1-based) of the node at
// a JSON path such as spec.template.spec.containers[0], so that findings can point at the
// container in the file (editors, GitHub annotations, SARIF regions).
//
// The `yaml` package keeps, for every node, its [start, valueEnd, nodeEnd] offsets in the source
// (`node.range`) and a LineCounter records where each line starts while parsing
// (https://eemeli.org/yaml/#parsing-yaml, "LineCounter"); linePos(offset) turns an offset into
// { line, col }, both 1-based. JSON files parse the same way (JSON is YAML flow syntax).
import { isMap, isSeq, type LineCounter, type Node } from 'yaml';

export interface SourcePosition {
  /** 1-based line. */
  line: number;
  /** 1-based column (UTF-16 code units, as the yaml package counts). */
  column: number;
}

/** "spec.template.spec.containers[0]" -> ["spec", "template", "spec", "containers", 0]. */
export function pathSegments(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of path.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) {
      out.push(part);
      continue;
    }
    if (m[1]) out.push(m[1]);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

/** The node at `segments` under `node`, or undefined when a step is missing or of another shape. */
export function nodeAt(node: unknown, segments: readonly (string | number)[]): Node | undefined {
  let current: unknown = node;
  for (const key of segments) {
    if (typeof key === 'number') {
      if (!isSeq(current)) return undefined;
      current = current.items[key];
    } else {
      if (!isMap(current)) return undefined;
      current = current.get(key, true);
    }
    if (current === undefined || current === null) return undefined;
  }
  return current as Node;
}

/** Line and column where `node` starts, when the parser recorded its range. */
export function positionOf(node: Node | undefined, lines: LineCounter): SourcePosition | undefined {
  const start = node?.range?.[0];
  if (start === undefined) return undefined;
  const { line, col } = lines.linePos(start);
  return { line, column: col };
}

/** A locator bound to one object's node: path in the object -> position in the file. */
export function locator(root: Node | undefined, lines: LineCounter): (path: string) => SourcePosition | undefined {
  return (path) => {
    if (!root) return undefined;
    const node = path === '' ? root : nodeAt(root, pathSegments(path));
    return positionOf(node, lines);
  };
}
