import t from 'tap';
import { decide, findingParts, formatFinding, formatWarning, formatWarnings, MAX_WARNING_CHARS, MAX_WARNINGS_TOTAL, oneLine } from '../../src/admission/verdict.js';
import type { Finding } from '../../src/checks/types.js';

const f = (certainty: Finding['certainty'], message = 'm', container = 'app', checkId = 'image-exists', extra: Partial<Finding> = {}): Finding => ({ checkId, container, certainty, message, ...extra });
const runes = (s: string) => Array.from(s).length;

t.test('enforce: certain findings deny, the rest warn', async (t) => {
  const v = decide([f('certain', 'image "x" not found', 'app', 'image-exists', { fix: 'correct the tag' }), f('unverified', 'could not verify "y"')], 'enforce');
  t.equal(v.allowed, false);
  t.equal(v.message, '[image-exists] container "app": image "x" not found; fix: correct the tag');
  t.same(v.warnings, ['[image-exists] container "app": could not verify "y"']);
});

t.test('enforce without certain findings allows with warnings, most important first', async (t) => {
  const v = decide([f('unverified', 'u'), f('likely', 'l')], 'enforce');
  t.equal(v.allowed, true);
  t.same(v.warnings, ['[image-exists] container "app": l', '[image-exists] container "app": u']);
});

t.test('warn mode allows and says what would have been denied, after the check id', async (t) => {
  const v = decide([f('certain', 'bad', 'app', 'image-exists', { fix: 'do x' })], 'warn');
  t.equal(v.allowed, true);
  t.same(v.warnings, ['[image-exists] would be denied (warn mode): container "app": bad; fix: do x']);
});

t.test('off mode and no findings allow silently', async (t) => {
  t.same(decide([f('certain')], 'off'), { allowed: true, warnings: [] });
  t.same(decide([], 'enforce'), { allowed: true, warnings: [] });
});

t.test('several certain findings share one deny message', async (t) => {
  const v = decide([f('certain', 'a', 'one'), f('certain', 'b', 'two', 'command-sanity')], 'enforce');
  t.equal(v.message, '[image-exists] container "one": a | [command-sanity] container "two": b');
});

t.test('a finding still written as "...; fix: ..." is read into its parts', async (t) => {
  t.same(findingParts(f('certain', 'it fails; then more; fix: do this')), { what: 'it fails; then more', fix: 'do this' });
  t.same(findingParts(f('certain', 'no fix here')), { what: 'no fix here' });
  t.same(findingParts(f('certain', 'w', 'app', 'x', { fix: 'f', detail: 'd' })), { what: 'w', fix: 'f', detail: 'd' });
});

t.test('the deny message and the CLI keep everything, the detail last', async (t) => {
  t.equal(formatFinding(f('certain', 'w', 'app', 'x', { fix: 'f', detail: 'image "a/b:c"' })), '[x] container "app": w; fix: f (image "a/b:c")');
});

t.test('a long warning drops the detail first, then shortens quoted values, and keeps the fix whole', async (t) => {
  const image = `registry.example.com/${'team/'.repeat(40)}ngiinx:1.14.2`;
  const fix = 'use a program the image has (e.g. sh), or an image that has "bash"';
  const finding = f('certain', `command[0] "bash" is not in image ${JSON.stringify(image)}: the runtime fails with exec: "bash": executable file not found in $PATH (StartError, then CrashLoopBackOff)`, 'a'.repeat(63), 'executable-present', { fix, detail: `image ${JSON.stringify(image)}, PATH "/usr/bin:/bin"` });
  for (const prefix of ['', 'would be denied (warn mode): ']) {
    const line = formatWarning(finding, prefix);
    t.ok(runes(line) <= MAX_WARNING_CHARS, `${runes(line)} runes`);
    t.ok(line.startsWith(`[executable-present] ${prefix}container "${'a'.repeat(63)}": command[0] "bash" i`), line);
    t.ok(line.endsWith(`(StartError, then CrashLoopBackOff); fix: ${fix}`), 'the consequence and the whole fix are kept');
    t.notMatch(line, /PATH "/, 'the detail went first');
  }
  const pull = f('certain', `image ${JSON.stringify(image)} does not exist (ErrImagePull, then ImagePullBackOff)`, 'app', 'image-exists', { fix: 'correct the name', detail: 'registry said 404' });
  const usual = formatWarning(pull, 'would be denied (warn mode): ');
  t.ok(runes(usual) <= MAX_WARNING_CHARS);
  t.match(usual, /^\[image-exists\] would be denied \(warn mode\): container "app": image "registry\.[^"]*…[^"]*\/ngiinx:1\.14\.2" does not exist \(ErrImagePull, then ImagePullBackOff\); fix: correct the name$/, 'only the image is shortened, its tag kept');
  const short = formatWarning(f('likely', 'w', 'app', 'x', { fix: 'f', detail: 'd' }));
  t.equal(short, '[x] container "app": w; fix: f (d)', 'the detail is kept when it fits');
});

t.test('a "what" with nothing quoted is cut in its middle, keeping the consequence at its end', async (t) => {
  const line = formatWarning(f('likely', `${'x'.repeat(300)} (Error, then CrashLoopBackOff)`, 'app', 'x', { fix: 'fix it' }));
  t.equal(runes(line), MAX_WARNING_CHARS);
  t.ok(line.endsWith('(Error, then CrashLoopBackOff); fix: fix it'));
  t.match(line, /x…x/);
});

t.test('warnings are one line, without a Warning: prefix, at most 256 runes each and 4096 in all', async (t) => {
  t.equal(oneLine('Warning: a\nb\r\tc'), 'a b c');
  const long = formatWarnings([f('likely', 'é'.repeat(400))]);
  t.equal(runes(long[0]!), MAX_WARNING_CHARS);
  t.match(long[0]!, /é…é/);
  const many = formatWarnings(Array.from({ length: 60 }, (_, i) => f('unverified', `${i} ${'x'.repeat(200)}`)));
  const total = many.reduce((n, w) => n + w.length, 0);
  t.ok(total <= MAX_WARNINGS_TOTAL, `total ${total} within the limit`);
  t.match(many[many.length - 1]!, /^\d+ more backoff-guard findings not shown/);
  for (const w of many) t.notMatch(w, /[\n\r]/);
});
