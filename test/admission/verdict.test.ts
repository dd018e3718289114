import t from 'tap';
import { decide, formatWarnings, MAX_WARNING_CHARS, MAX_WARNINGS_TOTAL, oneLine } from '../../src/admission/verdict.js';
import type { Finding } from '../../src/checks/types.js';

const f = (certainty: Finding['certainty'], message = 'm', container = 'app', checkId = 'image-exists'): Finding => ({ checkId, container, certainty, message });

t.test('enforce: certain findings deny, the rest warn', async (t) => {
  const v = decide([f('certain', 'image "x" not found'), f('unverified', 'could not verify "y"')], 'enforce');
  t.equal(v.allowed, false);
  t.equal(v.message, 'container "app": image "x" not found [image-exists]');
  t.same(v.warnings, ['container "app": could not verify "y" [image-exists]']);
});

t.test('enforce without certain findings allows with warnings, most important first', async (t) => {
  const v = decide([f('unverified', 'u'), f('likely', 'l')], 'enforce');
  t.equal(v.allowed, true);
  t.same(v.warnings, ['container "app": l [image-exists]', 'container "app": u [image-exists]']);
});

t.test('warn mode allows and says what would have been denied', async (t) => {
  const v = decide([f('certain', 'bad')], 'warn');
  t.equal(v.allowed, true);
  t.same(v.warnings, ['would be denied (warn mode): container "app": bad [image-exists]']);
});

t.test('off mode and no findings allow silently', async (t) => {
  t.same(decide([f('certain')], 'off'), { allowed: true, warnings: [] });
  t.same(decide([], 'enforce'), { allowed: true, warnings: [] });
});

t.test('several certain findings share one deny message', async (t) => {
  const v = decide([f('certain', 'a', 'one'), f('certain', 'b', 'two', 'command-sanity')], 'enforce');
  t.equal(v.message, 'container "one": a [image-exists]; container "two": b [command-sanity]');
});

t.test('warnings are one line, without a Warning: prefix, at most 256 runes each and 4096 in all', async (t) => {
  t.equal(oneLine('Warning: a\nb\r\tc'), 'a b c');
  const long = formatWarnings([f('likely', 'é'.repeat(400))]);
  t.equal(Array.from(long[0]!).length, MAX_WARNING_CHARS);
  t.ok(long[0]!.endsWith('…'));
  const many = formatWarnings(Array.from({ length: 60 }, (_, i) => f('unverified', `${i} ${'x'.repeat(200)}`)));
  const total = many.reduce((n, w) => n + w.length, 0);
  t.ok(total <= MAX_WARNINGS_TOTAL, `total ${total} within the limit`);
  t.match(many[many.length - 1]!, /^\d+ more backoff-guard findings not shown/);
  for (const w of many) t.notMatch(w, /[\n\r]/);
});
