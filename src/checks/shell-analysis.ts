// What a container's main process will do, when that can be known without running it: the
// argv the runtime builds, `sh -c SCRIPT` scripts parsed by a real shell parser (mvdan/sh,
// the parser behind shfmt, in its GopherJS build `mvdan-sh`), and whether a process certainly
// ends at once or certainly fails. Pure: no I/O, shared by the shell-script, exits-at-once and
// probes checks.
//
// The analysis is deliberately one-sided: it answers "certainly quick" / "certainly fails"
// only when every path through the script is made of commands whose behaviour is known
// (echo, true, exit 1, sleep 5...). Anything else (a program, a loop, a variable as a command)
// makes the answer "don't know", never a deny.
import { BACKOFF_RESET_S } from './consequence.js';
import { createRequire } from 'node:module';

// ---- the parser (mvdan-sh exposes Go structs; only the fields used here are typed) ----

interface ShNode {
  [key: string]: unknown;
}
interface ShWord extends ShNode {
  Parts: ShNode[];
}
interface ShStmt extends ShNode {
  Cmd: ShNode | null;
  Negated: boolean;
  Background: boolean;
}
interface ShFile extends ShNode {
  Stmts: ShStmt[];
}
interface ShSyntax {
  NewParser(...opts: unknown[]): { Parse(src: string, name: string): ShFile };
  Variant(lang: unknown): unknown;
  LangBash: unknown;
  LangPOSIX: unknown;
  LangMirBSDKorn: unknown;
  NodeType(node: unknown): string;
  Walk(node: unknown, fn: (node: ShNode | null) => boolean): void;
}

let syntaxModule: ShSyntax | undefined;
function syntax(): ShSyntax {
  // Loaded on first use: ~130 ms, and most reviews never see a shell script.
  syntaxModule ??= (createRequire(import.meta.url)('mvdan-sh') as { syntax: ShSyntax }).syntax;
  return syntaxModule;
}

export type ShellLanguage = 'posix' | 'bash' | 'mksh';

/** The shells whose `-c` scripts are read, by program name, with the language they speak. */
const SHELLS: Readonly<Record<string, ShellLanguage>> = {
  sh: 'posix',
  ash: 'posix',
  dash: 'posix',
  bash: 'bash',
  zsh: 'bash', // mvdan/sh 3.x has no zsh mode; zsh accepts most bash syntax
  ksh: 'mksh',
  mksh: 'mksh',
};

export function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function shellLanguage(argv0: string): ShellLanguage | undefined {
  return SHELLS[basename(argv0)];
}

export interface ShellInvocation {
  shell: string;
  language: ShellLanguage;
  script: string;
  /** -e given (errexit). */
  errexit: boolean;
}

/**
 * `sh -c SCRIPT [name args...]`, `bash -ec SCRIPT`, `sh -x -c SCRIPT`: the script a shell will
 * run, or undefined when argv is not that (a script file, no -c, unknown options).
 */
export function shellInvocation(argv: readonly string[]): ShellInvocation | undefined {
  const shell = argv[0];
  if (shell === undefined) return undefined;
  const language = shellLanguage(shell);
  if (!language) return undefined;
  let sawC = false;
  let errexit = false;
  let i = 1;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (/^-[a-zA-Z]+$/.test(a)) {
      if (a.includes('c')) sawC = true;
      if (a.includes('e')) errexit = true;
      if (/o$/.test(a)) i++; // -o option takes a word
      continue;
    }
    if (/^\+[a-zA-Z]+$/.test(a)) continue;
    break;
  }
  if (!sawC) return undefined;
  const script = argv[i];
  return script === undefined ? undefined : { shell, language, script, errexit };
}

export type ParseResult = { ok: true; file: ShFile } | { ok: false; error: string };

const LANG: Record<ShellLanguage, keyof ShSyntax> = { posix: 'LangPOSIX', bash: 'LangBash', mksh: 'LangMirBSDKorn' };

export function parseScript(script: string, language: ShellLanguage): ParseResult {
  const sx = syntax();
  try {
    const parser = sx.NewParser(sx.Variant(sx[LANG[language]]));
    return { ok: true, file: parser.Parse(script, 'script') };
  } catch (err) {
    const e = err as { Error?: () => string; message?: string };
    const text = typeof e?.Error === 'function' ? e.Error() : (e?.message ?? String(err));
    return { ok: false, error: text.replace(/^script:/, '') };
  }
}

/** Bash builtins and keywords that POSIX shells parse as commands but do not have (dash: "not found"). */
const BASH_ONLY_COMMANDS = new Set(['[[', 'source', 'declare', 'typeset', 'shopt', 'pushd', 'popd', 'mapfile', 'readarray', 'function']);

/** Bash-only commands a POSIX-mode parse accepted as plain commands (`[[`, `source`...). */
export function bashOnlyCommands(file: ShFile): string[] {
  const sx = syntax();
  const found = new Set<string>();
  sx.Walk(file, (node) => {
    if (node && sx.NodeType(node) === 'CallExpr') {
      const name = literal((node['Args'] as ShWord[])[0]);
      if (name !== undefined && BASH_ONLY_COMMANDS.has(name)) found.add(name);
    }
    return true;
  });
  return [...found];
}

/**
 * `set` options a POSIX-mode parse accepts that dash does not have: `set -o pipefail` (also
 * `set -euo pipefail`) makes dash print "set: Illegal option -o pipefail" and, `set` being a
 * special builtin, the non-interactive shell exits with status 2 at once. Busybox ash and bash
 * have pipefail; dash releases up to 0.5.12 (Debian bookworm's, proved by test/real-images) do not.
 */
const DASH_MISSING_SET_OPTIONS = new Set(['pipefail']);

/** `-o NAME` options of `set` in the script that dash rejects ("pipefail"). */
export function dashMissingSetOptions(file: ShFile): string[] {
  const sx = syntax();
  const found = new Set<string>();
  sx.Walk(file, (node) => {
    if (node && sx.NodeType(node) === 'CallExpr') {
      const args = (node['Args'] as ShWord[]).map(literal);
      if (args[0] !== 'set') return true;
      for (let i = 1; i < args.length - 1; i++) {
        const flag = args[i];
        // -o, -eo, -euo, +o: the option name is the next word.
        if (flag !== undefined && /^[-+][a-zA-Z]*o$/.test(flag)) {
          const name = args[i + 1];
          if (name !== undefined && DASH_MISSING_SET_OPTIONS.has(name)) found.add(name);
        }
      }
    }
    return true;
  });
  return [...found];
}

/** The value of a word when it has no expansion in it, else undefined. */
function literal(word: ShWord | undefined): string | undefined {
  if (!word) return undefined;
  const sx = syntax();
  let out = '';
  for (const part of word.Parts) {
    const type = sx.NodeType(part);
    if (type === 'Lit' || type === 'SglQuoted') out += String(part['Value']);
    else if (type === 'DblQuoted') {
      for (const inner of part['Parts'] as ShNode[]) {
        if (sx.NodeType(inner) !== 'Lit') return undefined;
        out += String(inner['Value']);
      }
    } else return undefined;
  }
  return out;
}

// ---- what a process does ----

/** How sure we are that a path ends quickly: 'no' means it may run for long (or we don't know). */
export type Quick = 'certain' | 'likely' | 'no';
export type Status = 'zero' | 'nonzero' | 'unknown';

/** One way through a script: how it ends (exit, or falling off the end) and with which status. */
interface Path {
  exits: boolean;
  status: Status;
  quick: Quick;
  /** What ended it, for messages: "exit 1", "echo". */
  last: string;
  /** Seconds spent sleeping on the way (the rest counts as no time). */
  seconds?: number;
}

const worse = (a: Quick, b: Quick): Quick => (a === 'no' || b === 'no' ? 'no' : a === 'likely' || b === 'likely' ? 'likely' : 'certain');

/** Parses "5", "1.5", "2m", "1h", "infinity" as sleep(1) does (GNU and busybox): seconds. */
export function sleepSeconds(args: readonly (string | undefined)[]): number | undefined {
  if (args.length === 0) return undefined;
  let total = 0;
  for (const a of args) {
    if (a === undefined) return undefined;
    if (a === 'inf' || a === 'infinity') return Number.POSITIVE_INFINITY;
    const m = /^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$/.exec(a);
    if (!m) return undefined;
    total += Number(m[1]) * ({ '': 1, s: 1, m: 60, h: 3600, d: 86400 } as Record<string, number>)[m[2]!]!;
  }
  return total;
}

/** Commands that finish at once whatever their arguments, and their usual status. */
const QUICK: Readonly<Record<string, Status>> = {
  echo: 'zero',
  printf: 'zero',
  true: 'zero',
  ':': 'zero',
  false: 'nonzero',
  date: 'zero',
  pwd: 'zero',
  whoami: 'zero',
  id: 'zero',
  hostname: 'zero',
  uname: 'zero',
  printenv: 'unknown',
  basename: 'zero',
  dirname: 'zero',
  nproc: 'zero',
  ls: 'unknown',
  test: 'unknown',
  '[': 'unknown',
  mkdir: 'unknown',
  touch: 'unknown',
  rm: 'unknown',
  ln: 'unknown',
  chmod: 'unknown',
  chown: 'unknown',
  export: 'zero',
  readonly: 'zero',
  unset: 'zero',
  set: 'zero',
  shift: 'unknown',
  cd: 'unknown',
  umask: 'zero',
  alias: 'zero',
  local: 'zero',
};

const ARGS_DO_NOT_MATTER = new Set(['echo', 'printf', 'true', ':', 'false', 'date', 'pwd', 'whoami', 'id', 'hostname', 'uname', 'basename', 'dirname', 'nproc', 'export', 'readonly', 'unset', 'set', 'umask', 'alias', 'local']);

export interface CommandOutcome {
  status: Status;
  quick: Quick;
  /** True for `exit`. */
  exits: boolean;
  /** How long it runs, when known (sleep). */
  seconds?: number;
}

/**
 * What one simple command does, from its words (undefined = a word with an expansion).
 * `lastStatus` is $? before it (for a bare `exit`).
 */
export function commandOutcome(words: readonly (string | undefined)[], lastStatus: Status = 'zero'): CommandOutcome {
  const unknown: CommandOutcome = { status: 'unknown', quick: 'no', exits: false };
  const name0 = words[0];
  if (name0 === undefined) return unknown;
  const name = basename(name0);
  const args = words.slice(1);
  if (name === 'exit') {
    if (args.length === 0) return { status: lastStatus, quick: 'certain', exits: true };
    const code = args[0] !== undefined && /^\d+$/.test(args[0]) ? Number(args[0]) % 256 : undefined;
    return { status: code === undefined ? 'unknown' : code === 0 ? 'zero' : 'nonzero', quick: 'certain', exits: true };
  }
  if (name === 'sleep') {
    const s = sleepSeconds(args);
    if (s === undefined) return unknown;
    // The kubelet forgets a container's back-off once a run lasted 10 minutes (consequence.ts):
    // a sleep that long is not "quick" in any sense that matters here.
    return { status: 'zero', quick: s < 60 ? 'certain' : s < BACKOFF_RESET_S ? 'likely' : 'no', exits: false, seconds: s };
  }
  if (name === 'env' || name === 'printenv') {
    // `env` alone prints the environment; `env A=1 prog` runs prog.
    let i = 0;
    while (i < args.length && (args[i] === '-i' || args[i] === '-0' || /^[A-Za-z_][A-Za-z0-9_]*=/.test(args[i] ?? ''))) i++;
    if (i === args.length) return { status: name === 'env' ? 'zero' : 'unknown', quick: args.includes(undefined) ? 'likely' : 'certain', exits: false };
    return name === 'env' ? commandOutcome(args.slice(i), lastStatus) : unknown;
  }
  if (name === 'cat') {
    // With files it prints them; without, it reads stdin, which is empty unless stdin: true.
    return args.length > 0 && args.every((a) => a !== undefined && !a.startsWith('-')) ? { status: 'unknown', quick: 'certain', exits: false } : unknown;
  }
  const status = QUICK[name];
  if (status === undefined) return unknown;
  // Arguments we cannot read do not slow `echo $X` down; `ls -R $DIR` could take a while.
  return { status, quick: ARGS_DO_NOT_MATTER.has(name) || args.every((a) => a !== undefined) ? 'certain' : 'likely', exits: false };
}

const after = (first: Path, next: Path[]): Path[] => next.map((p) => ({ ...p, quick: worse(first.quick, p.quick), seconds: (first.seconds ?? 0) + (p.seconds ?? 0) }));

class Analyzer {
  readonly sx = syntax();

  list(stmts: readonly ShStmt[], start: Path): Path[] {
    let open: Path[] = [start];
    const ended: Path[] = [];
    for (const stmt of stmts) {
      const next: Path[] = [];
      for (const p of open) {
        for (const q of after(p, this.stmt(stmt, p.status))) (q.exits ? ended : next).push(q);
      }
      open = next;
      if (open.length === 0) break;
      if (ended.length + open.length > 64) return [{ exits: false, status: 'unknown', quick: 'no', last: '' }]; // too branchy
    }
    return [...ended, ...open];
  }

  runsCommands(node: ShNode): boolean {
    let found = false;
    this.sx.Walk(node, (node) => {
      if (node && !found) {
        const t = this.sx.NodeType(node);
        if (t === 'CmdSubst' || t === 'ProcSubst') found = true;
      }
      return !found;
    });
    return found;
  }

  stmt(stmt: ShStmt, lastStatus: Status): Path[] {
    const paths = stmt.Cmd ? this.cmd(stmt.Cmd, lastStatus) : [{ exits: false, status: lastStatus, quick: 'certain' as Quick, last: '' }];
    if (stmt.Background) {
      // `prog &` returns at once; the script goes on (and when it ends, PID 1 is gone).
      return [{ exits: false, status: 'zero', quick: 'likely', last: '&' }];
    }
    if (stmt.Negated) {
      return paths.map((p) => (p.exits ? p : { ...p, status: p.status === 'zero' ? 'nonzero' : p.status === 'nonzero' ? 'zero' : 'unknown' }));
    }
    return paths;
  }

  cmd(node: ShNode, lastStatus: Status): Path[] {
    const type = this.sx.NodeType(node);
    const start: Path = { exits: false, status: lastStatus, quick: 'certain', last: '' };
    switch (type) {
      case 'CallExpr': {
        const args = node['Args'] as ShWord[];
        // `$(prog)` or `<(prog)` in a word or an assignment runs a program we know nothing about.
        if (this.runsCommands(node)) return [{ ...start, quick: 'no', status: 'unknown', last: '' }];
        if (args.length === 0) return [{ exits: false, status: 'zero', quick: 'certain', last: 'assignment' }]; // A=1
        const words = args.map(literal);
        if (words[0] === 'exec') {
          // exec replaces the shell: the script ends with that program.
          if (words.length === 1) return [{ ...start, status: 'zero' }];
          const o = commandOutcome(words.slice(1), lastStatus);
          return [{ exits: true, status: o.status, quick: o.quick, last: words.slice(1, 3).join(' '), seconds: o.seconds ?? 0 }];
        }
        const o = commandOutcome(words, lastStatus);
        return [{ exits: o.exits, status: o.status, quick: o.quick, last: words.filter((w) => w !== undefined).slice(0, 2).join(' '), seconds: o.seconds ?? 0 }];
      }
      case 'DeclClause':
        return [{ exits: false, status: 'zero', quick: 'certain', last: 'declare' }];
      case 'Block':
        return this.list(node['Stmts'] as ShStmt[], start);
      case 'Subshell':
        // exit in a subshell ends the subshell only.
        return this.list(node['Stmts'] as ShStmt[], start).map((p) => ({ ...p, exits: false }));
      case 'BinaryCmd': {
        const op = node['Op'] as number;
        const x = this.stmt(node['X'] as ShStmt, lastStatus);
        if (op === 12 || op === 13) {
          // a | b: both run (in subshells), the status is b's.
          const y = this.stmt(node['Y'] as ShStmt, lastStatus);
          const quick = [...x, ...y].reduce<Quick>((q, p) => worse(q, p.quick), 'certain');
          const seconds = Math.max(0, ...[...x, ...y].map((p) => p.seconds ?? 0));
          return y.map((p) => ({ ...p, exits: false, quick, seconds }));
        }
        // && (10) runs Y when X succeeded, || (11) when it failed.
        const out: Path[] = [];
        for (const p of x) {
          if (p.exits) {
            out.push(p);
            continue;
          }
          const runsY = op === 10 ? p.status !== 'nonzero' : p.status !== 'zero';
          const skipsY = op === 10 ? p.status !== 'zero' : p.status !== 'nonzero';
          if (skipsY) out.push(p);
          if (runsY) out.push(...after(p, this.stmt(node['Y'] as ShStmt, p.status)));
        }
        return out;
      }
      case 'IfClause': {
        const cond = node['Cond'] as ShStmt[];
        const then = node['Then'] as ShStmt[];
        const els = node['Else'] as ShNode | null;
        if (cond.length === 0) return this.list(then, start); // the final `else`
        const out: Path[] = [];
        for (const c of this.list(cond, start)) {
          if (c.exits) {
            out.push(c);
            continue;
          }
          if (c.status !== 'nonzero') out.push(...this.list(then, { ...c, status: 'zero' }));
          if (c.status !== 'zero') out.push(...(els ? after(c, this.cmd(els, c.status)) : [{ ...c, status: 'zero' as Status }]));
        }
        return out;
      }
      case 'ForClause': {
        const loop = node['Loop'] as ShNode;
        if (this.sx.NodeType(loop) !== 'WordIter') return [{ ...start, quick: 'no', status: 'unknown' }];
        const items = (loop['Items'] as ShWord[]).map(literal);
        if (items.some((i) => i === undefined) || items.length > 100) return [{ ...start, quick: 'no', status: 'unknown' }];
        if (items.length === 0) return [{ ...start, status: 'zero' }];
        // Each round is the same script; its paths are those of one round, its time all rounds'.
        return this.list(node['Do'] as ShStmt[], { ...start, seconds: 0 }).map((p) => ({ ...p, seconds: (p.seconds ?? 0) * (p.exits ? 1 : items.length) }));
      }
      case 'CaseClause': {
        const out: Path[] = [];
        let catchAll = false;
        for (const item of node['Items'] as ShNode[]) {
          if ((item['Patterns'] as ShWord[]).some((w) => literal(w) === '*')) catchAll = true;
          out.push(...this.list(item['Stmts'] as ShStmt[], start));
        }
        if (!catchAll) out.push({ ...start, status: 'zero' });
        return out;
      }
      case 'FuncDecl':
        return [{ ...start, status: 'zero' }];
      default:
        // while/until loops, [[ ]], (( )), let, time, coproc...: not modelled.
        return [{ ...start, quick: 'no', status: 'unknown' }];
    }
  }
}

export interface ScriptVerdict {
  /** Every path ends quickly ('no' when one may not). */
  quick: Quick;
  /** Every path ends with a non-zero status. */
  alwaysFails: boolean;
  /** Every path ends with status 0. */
  alwaysSucceeds: boolean;
  /** What ends the script on a failing path ("exit 1"), for messages. */
  failure?: string;
  /** The longest any path runs, in seconds, counting sleeps only (when quick is not 'no'). */
  seconds: number;
}

export function analyzeScript(file: ShFile): ScriptVerdict {
  const paths = new Analyzer().list(file.Stmts, { exits: false, status: 'zero', quick: 'certain', last: '' });
  const quick = paths.reduce<Quick>((q, p) => worse(q, p.quick), 'certain');
  const alwaysFails = paths.length > 0 && paths.every((p) => p.status === 'nonzero');
  const failing = paths.find((p) => p.status === 'nonzero');
  return {
    quick,
    alwaysFails,
    alwaysSucceeds: paths.length > 0 && paths.every((p) => p.status === 'zero'),
    ...(alwaysFails && failing?.last ? { failure: failing.last } : {}),
    seconds: Math.max(0, ...paths.map((p) => p.seconds ?? 0)),
  };
}

/** The same verdict for a process started directly (no shell). */
export function analyzeArgv(argv: readonly string[]): ScriptVerdict {
  const o = commandOutcome(argv);
  return { quick: o.quick, alwaysFails: o.status === 'nonzero', alwaysSucceeds: o.status === 'zero', ...(o.status === 'nonzero' ? { failure: argv.slice(0, 2).join(' ') } : {}), seconds: o.seconds ?? 0 };
}
