import t from 'tap';
import { officialImages, parseList, suggestOfficialImage } from '../../src/image/official-images.js';

t.test('the shipped list loads, without its comment lines', async (t) => {
  const set = officialImages();
  t.ok(set.size > 100, `${set.size} official images`);
  for (const name of ['nginx', 'postgres', 'redis', 'busybox', 'alpine']) t.ok(set.has(name), `${name} is an official image`);
  t.notOk([...set].some((n) => n.startsWith('#') || n.trim() !== n || n === ''), 'no comments, blanks or padding');
  t.equal(officialImages(), set, 'the list is read once and the same set returned');
});

t.test('parseList', async (t) => {
  const cases: [string, string, string[]][] = [
    ['comments and blank lines are skipped', '# header\nnginx\n\n# note\nredis\n', ['nginx', 'redis']],
    ['CRLF line ends and padding are trimmed', 'nginx\r\n  redis  \r\n', ['nginx', 'redis']],
    ['duplicates collapse', 'nginx\nnginx\n', ['nginx']],
    ['an empty file is an empty set', '', []],
  ];
  for (const [name, text, want] of cases) t.same([...parseList(text)], want, name);
});

t.test('suggestOfficialImage', async (t) => {
  const cases: [string, string, string[]][] = [
    ['a doubled letter finds nginx', 'ngiinx', ['nginx']],
    ['an official name needs no suggestion', 'nginx', []],
    ['a doubled last letter finds postgres', 'postgress', ['postgres']],
    ['nothing close gives nothing', 'zzzzzzzz', []],
    ['swapped letters find nginx', 'ngnix', ['nginx']],
    ['a missing letter finds ubuntu', 'ubunt', ['ubuntu']],
    ['capitals find the lower-case name', 'Nginx', ['nginx']],
    ['the library/ form is accepted', 'library/ngiinx', ['nginx']],
    ['the full Docker Hub form is accepted', 'docker.io/library/postgress', ['postgres']],
    ['an official name in its full form needs no suggestion', 'docker.io/library/redis', []],
  ];
  for (const [name, input, want] of cases) t.same(suggestOfficialImage(input), want, name);
});
