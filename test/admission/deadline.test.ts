import t from 'tap';
import { Deadline, deadlineMs, parseGoDuration, signalOf } from '../../src/admission/deadline.js';

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
  // The last ?timeout= is kept parsed: the same text again, then another, then garbage, agree.
  t.same(['8s', '8s', '2s', '8s', 'garbage', 'garbage', '8s'].map((x) => deadlineMs(x, 30_000, 1000)), [7000, 7000, 1500, 7000, 9000, 9000, 7000], 'a repeated or changed parameter reads the same as a fresh one');
});

t.test('Deadline: the signal aborts at the deadline, whenever it was asked for; the hard stop follows', async (t) => {
  const early = new Deadline(30, 40);
  const signal = early.signal;
  t.equal(signal.aborted, false);
  t.equal(early.signal, signal, 'one signal per deadline');
  let stopped = 0;
  early.onHardStop = () => stopped++;
  await new Promise((r) => setTimeout(r, 50));
  t.equal(signal.aborted, true);
  t.equal((signal.reason as DOMException).name, 'TimeoutError');
  t.equal(stopped, 0, 'the hard stop waits for the slack');
  await new Promise((r) => setTimeout(r, 60));
  t.equal(stopped, 1);

  const late = new Deadline(10, 1000);
  await new Promise((r) => setTimeout(r, 30));
  t.equal(late.signal.aborted, true, 'a signal asked for after the deadline is already aborted');
  late.done();
});

t.test('Deadline: done() before the deadline cancels everything', async (t) => {
  const d = new Deadline(20, 10);
  let stopped = 0;
  d.onHardStop = () => stopped++;
  d.done();
  await new Promise((r) => setTimeout(r, 60));
  t.equal(stopped, 0);
  t.equal(d.signal.aborted, false, 'never aborted once answered');
});

t.test('signalOf: a signal as is, or the one a Deadline makes', async (t) => {
  const c = new AbortController();
  t.equal(signalOf(c.signal), c.signal);
  const d = new Deadline(1000, 10);
  t.equal(signalOf(d), d.signal);
  d.done();
});

t.test('Deadline: many at once, of different lengths: each fires at its own time, the finished ones never', async (t) => {
  const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const started = performance.now();
  const lengths = [80, 20, 60, 20, 40, 100, 10];
  const fired: number[] = [];
  const deadlines = lengths.map((ms) => {
    const d = new Deadline(ms, 5);
    d.signal.addEventListener('abort', () => fired.push(ms));
    return d;
  });
  // Finished ones never fire: the head, one in the middle and the tail.
  deadlines[6]!.done();
  deadlines[2]!.done();
  deadlines[5]!.done();
  await new Promise((r) => setTimeout(r, 140));
  t.same(fired, [20, 20, 40, 80], 'the unfinished ones aborted, in order of their length');
  for (const [i, d] of deadlines.entries()) {
    const finished = [6, 2, 5].includes(i);
    t.equal(d.signal.aborted, !finished, `${lengths[i]} ms ${finished ? 'done in time: never aborted' : 'aborted'}`);
  }
  t.ok(performance.now() - started >= 80, 'not before its time');
  for (const d of deadlines) d.done();
  t.equal(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length, timersBefore, 'no timer left once every deadline is done');
});

t.test('Deadline: the hard stop runs for each unfinished review, even with a slack of 0', async (t) => {
  const stops: string[] = [];
  const a = new Deadline(10, 0);
  a.onHardStop = () => stops.push('a');
  const b = new Deadline(10, 20);
  b.onHardStop = () => stops.push('b');
  await new Promise((r) => setTimeout(r, 60));
  t.same(stops, ['a', 'b']);
  a.done();
  b.done();
  a.done(); // twice is harmless
});

t.test('Deadline: one shared timer, held only while a review is in flight, and still on time after thousands of answered reviews', async (t) => {
  const refd = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = refd();
  for (let i = 0; i < 10_000; i++) new Deadline(5_000, 250).done();
  t.equal(refd(), before, 'answered reviews hold no timer');
  const a = new Deadline(5_000, 250);
  const b = new Deadline(5_000, 250);
  t.equal(refd(), before + 1, 'reviews in flight hold one timer between them, which keeps the process alive');
  const short = new Deadline(20, 5);
  t.equal(refd(), before + 1, 'a shorter deadline re-arms that timer, it does not add one');
  await new Promise((r) => setTimeout(r, 60));
  t.equal(short.signal.aborted, true, 'the shorter deadline fired on time although longer ones were armed first');
  t.equal(a.signal.aborted, false);
  short.done();
  a.done();
  b.done();
  t.equal(refd(), before, 'nothing held once all are answered');
});
