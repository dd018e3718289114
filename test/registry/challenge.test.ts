import t from 'tap';
import { parseWWWAuthenticate, selectChallenge, type Challenge } from '../../src/registry/challenge.js';

t.setTimeout(10_000);

const table: Array<[string, string | string[] | undefined, Challenge[]]> = [
  ['absent header', undefined, []],
  ['empty header', '', []],
  ['Basic with realm', 'Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
  [
    'Docker Hub bearer',
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
    [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull' } }],
  ],
  [
    'Distribution 2.8 insufficient_scope',
    'Bearer realm="https://127.0.0.1:1/token",service="svc",scope="repository:private/app:pull",error="insufficient_scope"',
    [{ scheme: 'bearer', params: { realm: 'https://127.0.0.1:1/token', service: 'svc', scope: 'repository:private/app:pull', error: 'insufficient_scope' } }],
  ],
  [
    'scope with several actions (comma inside quotes)',
    'Bearer realm="https://r/t",scope="repository:a/b:pull,push"',
    [{ scheme: 'bearer', params: { realm: 'https://r/t', scope: 'repository:a/b:pull,push' } }],
  ],
  [
    'escaped quote and backslash in quoted string',
    'Bearer realm="https://r/t",error_description="the \\"scope\\" is C:\\\\bad"',
    [{ scheme: 'bearer', params: { realm: 'https://r/t', error_description: 'the "scope" is C:\\bad' } }],
  ],
  ['case-insensitive scheme and parameter names', 'BEARER Realm="x", SERVICE="y"', [{ scheme: 'bearer', params: { realm: 'x', service: 'y' } }]],
  ['whitespace around = and commas', 'Bearer  realm = "x" ,  service=y', [{ scheme: 'bearer', params: { realm: 'x', service: 'y' } }]],
  ['unquoted token values', 'Bearer realm=https://r/t,service=registry.example.com', [{ scheme: 'bearer', params: { realm: 'https://r/t', service: 'registry.example.com' } }]],
  [
    'two challenges in one header',
    'Basic realm="basic", Bearer realm="https://r/t",service="s"',
    [
      { scheme: 'basic', params: { realm: 'basic' } },
      { scheme: 'bearer', params: { realm: 'https://r/t', service: 's' } },
    ],
  ],
  [
    'two header values',
    ['Negotiate', 'Bearer realm="https://r/t"'],
    [
      { scheme: 'negotiate', params: {} },
      { scheme: 'bearer', params: { realm: 'https://r/t' } },
    ],
  ],
  ['scheme without parameters followed by another', 'Negotiate, Basic realm="x"', [{ scheme: 'negotiate', params: {} }, { scheme: 'basic', params: { realm: 'x' } }]],
  ['token68', 'Negotiate YIIGhgYJKoZIhvcSAQICAQBuggZ1MIIGcaADAgEFoQMCAQ6iBwMFACAAAACj==', [{ scheme: 'negotiate', params: {}, token68: 'YIIGhgYJKoZIhvcSAQICAQBuggZ1MIIGcaADAgEFoQMCAQ6iBwMFACAAAACj==' }]],
  ['empty list elements', 'Bearer realm="x",,, service="y"', [{ scheme: 'bearer', params: { realm: 'x', service: 'y' } }]],
  ['duplicate parameter keeps the first', 'Bearer realm="first", realm="second"', [{ scheme: 'bearer', params: { realm: 'first' } }]],
  ['unterminated quoted string runs to the end', 'Bearer realm="https://r/t, service=s', [{ scheme: 'bearer', params: { realm: 'https://r/t, service=s' } }]],
  ['empty quoted value', 'Basic realm=""', [{ scheme: 'basic', params: { realm: '' } }]],
  ['junk before a challenge is skipped', '"garbage", Basic realm="x"', [{ scheme: 'basic', params: { realm: 'x' } }]],
];

t.test('parseWWWAuthenticate table', async (t) => {
  for (const [name, input, want] of table) {
    t.same(parseWWWAuthenticate(input), want, name);
  }
});

t.test('never throws on random input', async (t) => {
  const alphabet = 'Bearer realm="\\, =\t;abc';
  const failures: string[] = [];
  for (let i = 0; i < 2000; i++) {
    let s = '';
    const n = Math.floor(Math.random() * 40);
    for (let j = 0; j < n; j++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
    try {
      parseWWWAuthenticate(s);
    } catch {
      failures.push(s);
    }
  }
  t.same(failures, [], '2000 random headers parse without throwing');
});

t.test('selectChallenge prefers Bearer, then Basic, ignores others', async (t) => {
  t.equal(selectChallenge(parseWWWAuthenticate('Basic realm="b", Bearer realm="x"'))?.scheme, 'bearer');
  t.equal(selectChallenge(parseWWWAuthenticate('Negotiate, Basic realm="b"'))?.scheme, 'basic');
  t.equal(selectChallenge(parseWWWAuthenticate('Negotiate')), undefined);
  t.equal(selectChallenge([]), undefined);
});
