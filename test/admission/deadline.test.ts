import t from 'tap';
import { deadlineMs, parseGoDuration } from '../../src/admission/deadline.js';

t.test('Go durations as the API server writes them', async (t) => {
  const rows: Array<[string, number | undefined]> = [
    ['10s', 10_000], ['5s', 5000], ['1m', 60_000], ['1m30s', 90_000], ['500ms', 500], ['1.5s', 1500], ['', undefined], ['10', undefined], ['abc', undefined], ['10s junk', undefined],
  ];
  for (const [text, ms] of rows) t.equal(parseGoDuration(text), ms, JSON.stringify(text));
});

t.test('the deadline is the API server timeout minus a margin, capped by the budget', async (t) => {
  t.equal(deadlineMs('10s', 3000, 1000), 3000, 'budget caps a long timeout');
  t.equal(deadlineMs('5s', 3000, 1000), 3000, 'timeout minus margin over the budget: the budget');
  t.equal(deadlineMs('3s', 3000, 1000), 2250, 'the margin is at most a quarter of the timeout');
  t.equal(deadlineMs('8s', 30_000, 1000), 7000, 'timeout minus margin');
  t.equal(deadlineMs('1s', 3000, 1000), 750, 'a short timeout keeps three quarters');
  t.equal(deadlineMs(undefined, 30_000, 1000), 9000, 'no parameter: the API server default of 10s');
  t.equal(deadlineMs('garbage', 30_000, 1000), 9000, 'an unparsable parameter: the default');
  t.equal(deadlineMs('1ms', 3000, 0), 50, 'never below the minimum');
});
