// Issue 13: the audit's request budget, on a clock the test moves (sleeping advances it).
import t from 'tap';
import { RequestBudget } from '../../src/audit/request-budget.js';

function clocked(perMinute: number) {
  let now = 0;
  const slept: number[] = [];
  const budget = new RequestBudget(perMinute, { now: () => now, sleep: async (ms) => { slept.push(ms); now += ms; } });
  return { budget, slept, elapsed: () => now };
}

t.test('60 per minute: a burst of ten, then one a second', async (t) => {
  const { budget, elapsed } = clocked(60);
  for (let i = 0; i < 10; i++) await budget.take();
  t.equal(elapsed(), 0, 'the first ten go at once (ten seconds of budget)');
  for (let i = 0; i < 60; i++) await budget.take();
  t.ok(elapsed() >= 59_000 && elapsed() <= 61_000, `the next 60 take a minute (${elapsed()} ms)`);
});

t.test('never more than perMinute in any minute, over a long run', async (t) => {
  const { budget, elapsed } = clocked(120);
  for (let i = 0; i < 1200; i++) await budget.take();
  // 1200 requests at 120/min after a 20-request burst: at least (1200 - 20) / 2 s.
  t.ok(elapsed() >= 590_000, `1200 requests took ${elapsed()} ms`);
});

t.test('a lookup costing several requests waits for all of them', async (t) => {
  const { budget, elapsed } = clocked(6); // capacity 1, one token per 10 s
  await budget.take(3);
  t.equal(elapsed(), 0, 'n above the capacity is taken as the capacity');
  await budget.take(1);
  t.equal(elapsed(), 10_000);
});

t.test('an aborted pass stops waiting; a bad rate is refused', async (t) => {
  const budget = new RequestBudget(1); // capacity 1, then one a minute, real timers
  await budget.take();
  const ac = new AbortController();
  const waiting = budget.take(1, ac.signal);
  ac.abort(new Error('pass cancelled'));
  await t.rejects(waiting, /pass cancelled/);
  t.throws(() => new RequestBudget(0), /must be positive/);
});
