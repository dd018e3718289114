import t from 'tap';
import { closestMatches, editDistance, suggestionDistance } from '../../src/image/closest.js';

t.test('editDistance is the optimal-string-alignment distance', async (t) => {
  const cases: [string, string, string, number][] = [
    ['equal strings are 0 apart', 'nginx', 'nginx', 0],
    ['two empty strings are 0 apart', '', '', 0],
    ['from empty costs one insertion per character', '', 'abc', 3],
    ['to empty costs one deletion per character', 'abc', '', 3],
    ['one extra letter is one deletion', 'ngiinx', 'nginx', 1],
    ['one missing letter is one insertion', 'postgre', 'postgres', 1],
    ['one wrong letter is one substitution', '1.14.3', '1.14.2', 1],
    ['two swapped neighbours are one transposition', 'ngnix', 'nginx', 1],
    ['the classic kitten/sitting is 3', 'kitten', 'sitting', 3],
    ['OSA does not edit a transposed pair again (true Damerau would give 2)', 'ca', 'abc', 3],
    ['a leading v is one edit', 'v1.2.3', '1.2.3', 1],
    ['it is symmetric', 'sitting', 'kitten', 3],
    ['case differences count', 'Nginx', 'nginx', 1],
    ['an astral character counts once', '\u{1F600}x', 'x', 1],
  ];
  for (const [name, a, b, want] of cases) t.equal(editDistance(a, b), want, name);
});

t.test('suggestionDistance treats cosmetic differences and release lines as near', async (t) => {
  const cases: [string, string, string, number][] = [
    ['a plain typo costs its edit distance', 'ngiinx', 'nginx', 1],
    ['a dropped leading v costs half an edit', 'v1.2.3', '1.2.3', 0.5],
    ['an added leading v costs half an edit', '1.2.3', 'v1.2.3', 0.5],
    ['a v before a different version costs the version edits plus half', 'v1.2.4', '1.2.3', 1.5],
    ['case alone costs half an edit', 'Latest', 'latest', 0.5],
    ['all capitals cost half an edit', 'NGINX', 'nginx', 0.5],
    ['a more specific tag of the same line costs 1', '1.14', '1.14.2', 1],
    ['a less specific tag of the same line costs 1', '1.14.9', '1.14', 1],
    ['a variant suffix after a dash costs 1', 'alpine', 'alpine-3', 1],
    ['a suffix with no separator is an ordinary edit', 'alpine', 'alpine3', 1],
    ['a longer suffix with no separator is not a variant', 'mariadb', 'mariadb1011', 4],
    ['a v that is not before a digit is a real letter', 'vim', 'im', 1],
  ];
  for (const [name, a, b, want] of cases) t.equal(suggestionDistance(a, b), want, name);
});

t.test('closestMatches', async (t) => {
  const images = ['nginx', 'postgres', 'redis', 'python', 'photon', 'node', 'mysql', 'mariadb', 'httpd'];
  const tags = ['1.14.2', '1.14', 'latest', '1.15', '1.4', '1.14.1', 'stable', '1.14-alpine'];
  const cases: { name: string; input: string; candidates: string[]; opts?: { max?: number; maxDistance?: number }; want: string[] }[] = [
    { name: 'an extra letter finds the image', input: 'ngiinx', candidates: images, want: ['nginx'] },
    { name: 'swapped letters find the image', input: 'ngnix', candidates: images, want: ['nginx'] },
    { name: 'a doubled last letter finds postgres', input: 'postgress', candidates: images, want: ['postgres'] },
    { name: 'an exact candidate needs no suggestion', input: 'redis', candidates: images, want: [] },
    { name: 'nothing close gives nothing', input: 'zzzzzzzz', candidates: images, want: [] },
    { name: 'capitals find the lower-case name', input: 'NGINX', candidates: images, want: ['nginx'] },
    { name: 'the closer of two suggestions comes first', input: 'pyhton', candidates: images, want: ['python', 'photon'] },
    { name: 'suggestions at the same distance come in name order', input: 'cat', candidates: ['cut', 'bat', 'cab'], want: ['bat', 'cab', 'cut'] },
    { name: 'the neighbouring patch release comes before the floating minor tag', input: '1.14.3', candidates: tags, want: ['1.14.2', '1.14.1', '1.14'] },
    { name: 'the closest patch number comes first among equals', input: '1.14.0', candidates: tags, want: ['1.14.1', '1.14.2', '1.14'] },
    { name: 'a v-prefixed tag finds the bare version', input: 'v1.2.3', candidates: ['1.2.3', '1.2.4', 'v1.2.4'], want: ['1.2.3', 'v1.2.4', '1.2.4'] },
    { name: 'a bare version finds the v-prefixed tag and not a v-prefixed other version', input: '1.8.0', candidates: ['v1.8.0', 'v1.7.0', 'latest'], want: ['v1.8.0'] },
    { name: 'a missing minor line suggests its patch releases before other lines', input: '1.13', candidates: ['1.13.7', '1.12', '1.31', 'latest'], want: ['1.13.7', '1.12', '1.31'] },
    { name: 'a misspelt latest finds latest', input: 'latst', candidates: tags, want: ['latest'] },
    { name: 'Latest in capitals finds latest', input: 'Latest', candidates: tags, want: ['latest'] },
    { name: 'max limits the number of suggestions', input: '1.14.3', candidates: tags, opts: { max: 1 }, want: ['1.14.2'] },
    { name: 'max 0 gives nothing', input: '1.14.3', candidates: tags, opts: { max: 0 }, want: [] },
    { name: 'maxDistance 0 keeps only cosmetic-free exact matches, so nothing', input: 'ngiinx', candidates: images, opts: { maxDistance: 0 }, want: [] },
    { name: 'a larger maxDistance reaches further', input: 'rabit', candidates: ['rabbitmq', 'httpd'], opts: { maxDistance: 3 }, want: ['rabbitmq'] },
    { name: 'the default maxDistance does not reach a four-edit name', input: 'rabit', candidates: ['rabbitmq', 'httpd'], want: [] },
    { name: 'duplicate candidates are suggested once', input: 'ngiinx', candidates: ['nginx', 'nginx'], want: ['nginx'] },
    { name: 'no candidates give nothing', input: 'nginx', candidates: [], want: [] },
  ];
  for (const c of cases) t.same(closestMatches(c.input, c.candidates, c.opts), c.want, c.name);
});

t.test('closestMatches accepts any iterable, such as a Set', async (t) => {
  t.same(closestMatches('ngiinx', new Set(['nginx', 'httpd'])), ['nginx']);
});
