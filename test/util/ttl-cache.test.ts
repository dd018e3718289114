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

t.test('reading an entry among the newer half does not move it; an older one is moved', async (t) => {
  const c = new TtlCache<string, number>(4);
  for (const [i, k] of ['a', 'b', 'c', 'd'].entries()) c.set(k, i, 1000);
  t.equal(c.get('d'), 3, 'd: newest, read in place');
  t.equal(c.get('c'), 2, 'c: second newest, read in place');
  t.equal(c.get('b'), 1, 'b: among the older half, moved to the back');
  c.set('e', 4, 1000);
  t.equal(c.get('a'), undefined, 'a was the least recently used');
  c.set('f', 5, 1000);
  t.equal(c.size, 4);
  t.equal(c.get('c'), undefined, 'c, read in place earlier, is now the oldest placed and goes first');
  t.same(['b', 'd', 'e', 'f'].map((k) => c.get(k)), [1, 3, 4, 5]);
});

t.test('whatever was touched within the last half-capacity operations is never evicted', async (t) => {
  // A deterministic pseudo-random mix of reads and writes over more keys than fit.
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (const capacity of [2, 3, 10, 64]) {
    const c = new TtlCache<number, number>(capacity);
    const recent: number[] = [];
    let wrong = 0;
    for (let op = 0; op < 5000; op++) {
      const k = rnd(capacity * 3);
      if (rnd(3) === 0) c.set(k, k, 1e9);
      else if (c.get(k) === undefined) continue; // a miss touches nothing
      recent.push(k);
      if (recent.length > Math.floor(capacity / 2)) recent.shift();
      // Reads never evict, so checking does not change what is there.
      for (const r of recent) if (c.get(r) !== r) wrong++;
      if (c.size > capacity) wrong++;
    }
    t.equal(wrong, 0, `capacity ${capacity}: no recently touched entry lost, never over capacity`);
  }
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
