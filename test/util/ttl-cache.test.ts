import t from 'tap';
import { SingleFlight } from '../../src/util/single-flight.js';
import { TtlCache } from '../../src/util/ttl-cache.js';

t.test('entries expire after their TTL', async (t) => {
  let now = 0;
  const c = new TtlCache<string, number>(10, () => now);
  c.set('a', 1, 100);
  t.equal(c.get('a'), 1);
  now = 99;
  t.equal(c.get('a'), 1);
  now = 100;
  t.equal(c.get('a'), undefined);
  t.equal(c.size, 0, 'an expired entry is dropped on read');
});

t.test('the least recently used entry goes first when full', async (t) => {
  const c = new TtlCache<string, number>(2);
  c.set('a', 1, 1000);
  c.set('b', 2, 1000);
  t.equal(c.get('a'), 1, 'a is now the most recent');
  c.set('c', 3, 1000);
  t.equal(c.get('b'), undefined, 'b was evicted');
  t.equal(c.get('a'), 1);
  t.equal(c.get('c'), 3);
  t.equal(c.size, 2);
});

t.test('a zero TTL stores nothing', async (t) => {
  const c = new TtlCache<string, number>(2);
  c.set('a', 1, 0);
  t.equal(c.get('a'), undefined);
});

t.test('single flight: concurrent calls share one promise, later calls start anew', async (t) => {
  const sf = new SingleFlight<string, number>();
  let runs = 0;
  const fn = () => new Promise<number>((r) => setTimeout(() => r(++runs), 10));
  const all = await Promise.all([sf.do('k', fn), sf.do('k', fn), sf.do('k', fn)]);
  t.same(all, [1, 1, 1]);
  t.equal(await sf.do('k', fn), 2);
  t.equal(sf.size, 0);
});

t.test('single flight: a rejection reaches every caller and is not kept', async (t) => {
  const sf = new SingleFlight<string, number>();
  const fail = () => Promise.reject(new Error('down'));
  const results = await Promise.allSettled([sf.do('k', fail), sf.do('k', fail)]);
  t.same(results.map((r) => r.status), ['rejected', 'rejected']);
  t.equal(await sf.do('k', async () => 7), 7);
});
