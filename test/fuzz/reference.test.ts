// Property-based tests of the image reference parser (fast-check, seeded and reproducible):
// 10,000 generated strings - arbitrary unicode, near-valid references with one mutation,
// prototype-ish names, huge strings - never make parseReference throw anything but
// InvalidReferenceError, and what it accepts is a consistent ImageReference.
// Replay a failure with its printed seed and path: FUZZ_SEED=<seed> (and fast-check's `path`).
import t from 'tap';
import fc from 'fast-check';
import { InvalidReferenceError, parseReference, type ImageReference } from '../../src/image/reference.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20_260_707);
const RUNS = 10_000;
const TIME_LIMIT_MS = 40_000;

// ---- generators ----

const PROTO_WORDS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'then', 'toJSON'];
const special = fc.constantFrom(':', '/', '@', '.', '_', '__', '-', '--', 'A', 'Z', ' ', '\n', '\t', '\u0000', '%', '#', '?', '[', ']', '::', '//', '@sha256:', 'é', '\u200b', '\ud800', '😀');
const lower = fc.stringMatching(/^[a-z0-9]{1,8}$/);
const component = fc.oneof(lower, fc.tuple(lower, fc.constantFrom('.', '_', '__', '-', '---'), lower).map(([a, s, b]) => a + s + b));
const domain = fc.oneof(
  fc.constantFrom('docker.io', 'index.docker.io', 'registry-1.docker.io', 'localhost', 'localhost:5000', 'quay.io', 'gcr.io', '127.0.0.1:5000', '[::1]:5000', 'a_b.c', 'Example.COM', 'xn--bcher-kva.example'),
  fc.tuple(lower, fc.constantFrom('.com', '.io', ':443', '.local:5000', '')).map(([a, b]) => a + b),
);
const tag = fc.stringMatching(/^[\w][\w.-]{0,20}$/);
const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const digest = fc.oneof(hex(64).map((h) => `sha256:${h}`), hex(128).map((h) => `sha512:${h}`), hex(32).map((h) => `sha256:${h}`), fc.tuple(fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/), hex(40)).map(([a, h]) => `${a}:${h}`));
const wellFormed = fc
  .record({
    domain: fc.option(domain, { nil: undefined }),
    path: fc.array(component, { minLength: 1, maxLength: 4 }),
    tag: fc.option(tag, { nil: undefined }),
    digest: fc.option(digest, { nil: undefined }),
  })
  .map((r) => `${r.domain ? `${r.domain}/` : ''}${r.path.join('/')}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`);
/** A well-formed reference with one insertion, deletion or replacement. */
const mutated = fc.tuple(wellFormed, fc.nat(), fc.nat({ max: 3 }), special, fc.nat({ max: 2 })).map(([s, at, len, insert, op]) => {
  const i = at % (s.length + 1);
  if (op === 0) return s.slice(0, i) + insert + s.slice(i);
  if (op === 1) return s.slice(0, i) + s.slice(i + len + 1);
  return s.slice(0, i) + insert + s.slice(i + len);
});
const protoish = fc.tuple(fc.constantFrom(...PROTO_WORDS), fc.constantFrom('', ':latest', '/x', '/__proto__:1', '@sha256:' + '0'.repeat(64), ':__proto__')).map(([w, s]) => w.toLowerCase() + s);
/** Long strings over the reference alphabet: backtracking in the grammar would show here. */
const huge = fc
  .tuple(fc.constantFrom('a', 'a.', 'a-', 'a_', 'a/', 'a:', 'a@', '0', 'A', 'a--', 'a__', 'aa-a.'), fc.integer({ min: 500, max: 20_000 }), fc.constantFrom('', '!', 'A', ':', '@', '/', '.'))
  .map(([unit, n, end]) => unit.repeat(Math.ceil(n / unit.length)) + end);

const anyReference = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 80 }) },
  { weight: 2, arbitrary: fc.string({ unit: special, maxLength: 30 }) },
  { weight: 4, arbitrary: wellFormed },
  { weight: 6, arbitrary: mutated },
  { weight: 1, arbitrary: protoish },
  { weight: 1, arbitrary: huge },
);

// ---- properties ----

const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}$/;

function checkParsed(input: string, r: ImageReference): void {
  const fail = (why: string) => {
    throw new Error(`${why}: ${JSON.stringify(input).slice(0, 200)} -> ${JSON.stringify(r).slice(0, 400)}`);
  };
  if (r.original !== input) fail('original is not the input');
  if (r.path === '' || r.path.length > 255) fail('path empty or longer than 255');
  if (r.name !== (r.domain ? `${r.domain}/${r.path}` : r.path)) fail('name is not domain/path');
  if (r.tag === undefined && r.digest === undefined) fail('neither tag nor digest');
  if (r.tag !== undefined && !TAG_RE.test(r.tag)) fail('tag outside the grammar');
  if (r.digest !== undefined && !DIGEST_RE.test(r.digest)) fail('digest outside the grammar');
  if (r.reference !== (r.digest ?? r.tag)) fail('reference is not the digest, else the tag');
  if (!r.normalized.startsWith(r.name)) fail('normalized does not start with the name');
  if (r.tagDefaulted !== (r.tag === 'latest' && r.digest === undefined && !/:latest(@|$)/.test(input))) fail('tagDefaulted disagrees with the input');
  // Normalisation is a fixed point: the normalised form parses to itself (ParseNormalizedNamed(ref.String())).
  const again = parseReference(r.normalized);
  if (again.normalized !== r.normalized || again.domain !== r.domain || again.path !== r.path) fail(`normalized form re-parses differently (${again.normalized})`);
}

t.test('parseReference returns a consistent reference or throws InvalidReferenceError, for 10,000 generated strings', async (t) => {
  let accepted = 0;
  let rejected = 0;
  let slowest = { ms: 0, length: 0 };
  const details = fc.check(
    fc.property(anyReference, (input) => {
      const started = performance.now();
      try {
        const r = parseReference(input);
        accepted++;
        checkParsed(input, r);
      } catch (err) {
        if (!(err instanceof InvalidReferenceError)) throw err;
        rejected++;
        // (The reason may hold raw control characters, as distribution's does: "repository name
        // (library/A\n) must be lowercase"; verdicts pass it through oneLine(), see route.test.ts.)
        if (err.input !== input || err.code !== 'INVALID_REFERENCE' || err.reason === '') throw new Error(`malformed InvalidReferenceError for ${JSON.stringify(input).slice(0, 100)}`);
      }
      const ms = performance.now() - started;
      if (ms > slowest.ms) slowest = { ms, length: input.length };
    }),
    { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false },
  );
  t.comment(`${details.numRuns} runs (seed ${SEED}): ${accepted} accepted, ${rejected} rejected; slowest parse ${slowest.ms.toFixed(1)} ms on ${slowest.length} characters`);
  if (details.interrupted) t.comment(`interrupted after ${TIME_LIMIT_MS} ms`);
  t.notOk(details.failed, details.failed ? `${String((details.errorInstance as Error)?.message ?? details.errorInstance).slice(0, 600)} <- ${String(fc.defaultReportMessage(details))}` : 'no counterexample');
  t.ok(accepted > 1000 && rejected > 1000, 'the generators reach both sides of the grammar');
});

t.test('a 1 MB image string is rejected, not a hang', async (t) => {
  // The API server puts no length limit on container.image; a review can carry one this big.
  for (const input of ['a'.repeat(1 << 20), 'a.'.repeat(1 << 19) + '!', `${'a/'.repeat(1 << 19)}A`]) {
    const started = performance.now();
    t.throws(() => parseReference(input), InvalidReferenceError);
    const ms = performance.now() - started;
    t.ok(ms < 3000, `rejected in ${ms.toFixed(0)} ms`);
  }
});
