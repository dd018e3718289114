import { parseReference } from '../../dist/image/reference.js';
const cases = {
  'a*N': (n) => 'a'.repeat(n),
  'a*N!': (n) => 'a'.repeat(n) + '!',
  'a.*N!': (n) => 'a.'.repeat(n) + '!',
  'a-*N!': (n) => 'a-'.repeat(n) + '!',
  'a--*N': (n) => 'a' + '-'.repeat(n) + '!',
  'a/ *N!': (n) => 'a/'.repeat(n) + 'A',
  'a_*N!': (n) => 'a_'.repeat(n) + '!',
  'a__*N': (n) => 'a' + '_'.repeat(n) + 'a!',
  'x:1*N': (n) => 'x:' + '1'.repeat(n) + '!',
  'aa-a*N.': (n) => 'a' + 'a-a'.repeat(n) + '.!',
  'a.a-*N:': (n) => ('a.' + 'a-'.repeat(n)) + ':a',
  'digest': (n) => 'a@sha256:' + 'a'.repeat(n) + '!',
  'digestsep': (n) => 'a@' + 'a-'.repeat(n) + ':' + '0'.repeat(40),
  'tag long': (n) => 'a:' + 'a'.repeat(n),
};
for (const [name, f] of Object.entries(cases)) {
  const out = [];
  for (const n of [1000, 4000, 16000]) {
    const s = f(n);
    const t = performance.now();
    let err = '';
    try { parseReference(s); } catch (e) { err = e.constructor.name; }
    out.push(`${n}:${(performance.now() - t).toFixed(1)}ms${err ? '' : '(ok)'}`);
  }
  console.log(name.padEnd(12), out.join('  '));
}
