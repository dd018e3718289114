// The kubelet's keyring rules (pkg/credentialprovider/keyring.go) as pure tables: index keys,
// URL matching (glob / port / path), order, Docker Hub, and the union with the node's keyring.
import t from 'tap';
import { Keyring, indexKeyOf, isDefaultRegistryMatch, unionLookup, urlsMatch, describeSource, type CredentialSource } from '../../src/credentials/index.js';
import { filepathMatch } from '../../src/credentials/go-match.js';

t.test('index keys: scheme and a leading /v1/ or /v2/ are stripped', async (t) => {
  const rows: Array<[string, string | undefined]> = [
    ['quay.io', 'quay.io'],
    ['https://quay.io', 'quay.io'],
    ['http://quay.io', 'quay.io'],
    ['https://index.docker.io/v1/', 'index.docker.io'],
    ['index.docker.io/v1/', 'index.docker.io'],
    ['https://registry.example.com/v2/', 'registry.example.com'],
    ['registry.example.com/v2/team', 'registry.example.com/team'],
    ['registry.example.com/v1/team/app', 'registry.example.com/team/app'],
    ['registry.example.com/v2', 'registry.example.com/v2'], // no trailing slash: not the /v2/ prefix
    ['registry.example.com/', 'registry.example.com'],
    ['registry.example.com/team/', 'registry.example.com/team/'],
    ['registry.example.com:5000', 'registry.example.com:5000'],
    ['user:pw@registry.example.com', 'registry.example.com'],
    ['registry.example.com/a%20b', 'registry.example.com/a b'], // Go unescapes the path
    ['registry.example.com?x=1', 'registry.example.com'],
    ['[::1]:5000', '[::1]:5000'],
    ['registry.example.com:port', undefined], // invalid port: Go's url.Parse fails, the key is ignored
    ['registry example.com', undefined], // invalid host character
    ['registry.example.com/%zz', undefined], // bad escape
  ];
  for (const [key, want] of rows) t.equal(indexKeyOf(key), want, `${JSON.stringify(key)} -> ${JSON.stringify(want)}`);
});

t.test('URLsMatch: labels, globs, port, path', async (t) => {
  const rows: Array<[glob: string, target: string, match: boolean]> = [
    ['*.kubernetes.io', 'prefix.kubernetes.io', true],
    ['prefix.*.io', 'prefix.kubernetes.io', true],
    ['prefix.kubernetes.*', 'prefix.kubernetes.io', true],
    ['*-good.kubernetes.io', 'prefix-good.kubernetes.io', true],
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'example.com', false], // label count differs
    ['*.example.com', 'a.b.example.com', false], // a glob is one label
    ['*.*.example.com', 'a.b.example.com', true],
    ['*', 'localhost', true],
    ['*', 'docker.io', false],
    ['*.io', 'docker.io', true],
    ['x[a-c]b.example.com', 'xbb.example.com', true],
    ['x[^a-c]b.example.com', 'xbb.example.com', false],
    // In a key, '?' starts the URL query and a leading '[' an IPv6 literal (Go's url.Parse), so
    // these never match anything on a node either.
    ['a?c.example.com', 'abc.example.com', false],
    ['[a-c]b.example.com', 'bb.example.com', false],
    ['[a-.example.com', 'a.example.com', false], // malformed pattern: no match
    ['Registry.example.com', 'registry.example.com', false], // case-sensitive, as Go compares bytes
    ['registry.example.com:5000', 'registry.example.com:5000', true],
    ['registry.example.com:5000', 'registry.example.com', false],
    ['registry.example.com', 'registry.example.com:5000', false],
    ['registry.example.com:05000', 'registry.example.com:5000', false], // ports compared as strings
    ['*.example.com:5000', 'a.example.com:5000', true],
    ['quay.io/foo', 'quay.io/foo/bar', true],
    ['quay.io/foo', 'quay.io/foo-bar', true], // the path is a raw string prefix
    ['quay.io/foo', 'quay.io/bar', false],
    ['quay.io/foo/', 'quay.io/foo', false],
    ['quay.io', 'quay.io/anything/at/all', true],
    ['*.kubernetes.io/foo', 'prefix.kubernetes.io/foo/bar', true],
    ['*.kubernetes.io/foo', 'prefix.kubernetes.io/bar', false],
    ['[::1]:5000', '[::1]:5000/team/app', true],
    ['docker.io', 'docker.io/library/nginx', true],
    ['index.docker.io', 'docker.io/library/nginx', false],
    ['registry-1.docker.io', 'docker.io/library/nginx', false],
  ];
  for (const [glob, target, match] of rows) t.equal(urlsMatch(glob, target), match, `${glob} ${match ? 'matches' : 'does not match'} ${target}`);
});

t.test('filepath.Match corner cases', async (t) => {
  const rows: Array<[string, string, boolean | 'error']> = [
    ['abc', 'abc', true],
    ['*', 'abc', true],
    ['*c', 'abc', true],
    ['a*', 'a', true],
    ['a*/b', 'abc/b', true],
    ['a*/b', 'a/c/b', false],
    ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'ab', false],
    ['[\\-]', '-', true],
    ['[x\\-]', 'z', false],
    ['a[', 'a', 'error'],
    ['a[^bc', 'a', 'error'],
    ['*x', 'xxx', true],
    ['[]a]', ']', 'error'],
  ];
  for (const [p, n, want] of rows) {
    if (want === 'error') t.throws(() => filepathMatch(p, n), `${p} is a bad pattern`);
    else t.equal(filepathMatch(p, n), want, `${p} vs ${n}`);
  }
});

t.test('isDefaultRegistryMatch', async (t) => {
  const rows: Array<[string, boolean]> = [
    ['docker.io/library/nginx', true],
    ['index.docker.io/library/nginx', true],
    ['library/nginx', true],
    ['nginx', true],
    ['quay.io/team/app', false],
    ['localhost:5000/app', false],
    ['registry-1.docker.io/library/nginx', false],
    ['/x', false],
  ];
  for (const [image, want] of rows) t.equal(isDefaultRegistryMatch(image), want, image);
});

const secret = (name: string, namespace = 'default'): CredentialSource => ({ kind: 'secret', namespace, name });
const cred = (username: string) => ({ username, password: `${username}-pw` });

function lookup(configs: Array<[CredentialSource, string[]]>, image: string): string[] {
  const k = new Keyring();
  for (const [source, keys] of configs) k.add(source, keys.map((key) => ({ key, credential: cred(`${describeSource(source)}|${key}`) })));
  return k.lookup(image).map((m) => `${describeSource(m.source)}#${m.key}`);
}

t.test('Lookup: order and matches', async (t) => {
  const rows: Array<{ name: string; configs: Array<[CredentialSource, string[]]>; image: string; want: string[] }> = [
    {
      name: 'most specific key first (reverse sort), every match returned',
      configs: [[secret('a'), ['quay.io', 'quay.io/team', 'quay.io/team/app']]],
      image: 'quay.io/team/app',
      want: ['secret default/a#quay.io/team/app', 'secret default/a#quay.io/team', 'secret default/a#quay.io'],
    },
    {
      name: 'an exact host before a glob of the same shape',
      configs: [[secret('a'), ['*.example.com', 'registry.example.com']]],
      image: 'registry.example.com/app',
      want: ['secret default/a#registry.example.com', 'secret default/a#*.example.com'],
    },
    {
      name: 'the same key in two secrets: in the pod order',
      configs: [
        [secret('first'), ['registry.example.com']],
        [secret('second'), ['https://registry.example.com']],
      ],
      image: 'registry.example.com/app',
      want: ['secret default/first#registry.example.com', 'secret default/second#https://registry.example.com'],
    },
    {
      name: 'keys of two secrets interleave by specificity, not by secret',
      configs: [
        [secret('first'), ['registry.example.com']],
        [secret('second'), ['registry.example.com/team']],
      ],
      image: 'registry.example.com/team/app',
      want: ['secret default/second#registry.example.com/team', 'secret default/first#registry.example.com'],
    },
    {
      name: 'a port must match exactly',
      configs: [[secret('a'), ['registry.example.com:5000', 'registry.example.com']]],
      image: 'registry.example.com:5000/app',
      want: ['secret default/a#registry.example.com:5000'],
    },
    {
      name: 'path prefix is a raw string prefix',
      configs: [[secret('a'), ['quay.io/foo']]],
      image: 'quay.io/foo-bar/app',
      want: ['secret default/a#quay.io/foo'],
    },
    { name: 'no key for the registry', configs: [[secret('a'), ['quay.io']]], image: 'ghcr.io/team/app', want: [] },
    {
      name: 'Docker Hub: https://index.docker.io/v1/ applies to docker.io images',
      configs: [[secret('a'), ['https://index.docker.io/v1/']]],
      image: 'docker.io/library/nginx',
      want: ['secret default/a#https://index.docker.io/v1/'],
    },
    {
      name: 'Docker Hub: index.docker.io applies too',
      configs: [[secret('a'), ['index.docker.io']]],
      image: 'docker.io/team/app',
      want: ['secret default/a#index.docker.io'],
    },
    {
      name: 'Docker Hub: docker.io matches by glob',
      configs: [[secret('a'), ['docker.io']]],
      image: 'docker.io/library/nginx',
      want: ['secret default/a#docker.io'],
    },
    {
      name: 'Docker Hub: a registry-1.docker.io key is not applied',
      configs: [[secret('a'), ['registry-1.docker.io', 'https://registry-1.docker.io/v2/']]],
      image: 'docker.io/library/nginx',
      want: [],
    },
    {
      name: 'Docker Hub: index.docker.io is only the fallback when another key matched',
      configs: [[secret('a'), ['https://index.docker.io/v1/', 'docker.io/team']]],
      image: 'docker.io/team/app',
      want: ['secret default/a#docker.io/team'],
    },
    {
      name: 'Docker Hub: the fallback is not used for other registries',
      configs: [[secret('a'), ['https://index.docker.io/v1/']]],
      image: 'quay.io/team/app',
      want: [],
    },
    {
      name: 'a key that does not parse is ignored, others still match',
      configs: [[secret('a'), ['registry.example.com:bad', 'registry.example.com']]],
      image: 'registry.example.com/app',
      want: ['secret default/a#registry.example.com'],
    },
  ];
  for (const row of rows) t.same(lookup(row.configs, row.image), row.want, row.name);
});

t.test('union: pull secrets first, then the node keyring', async (t) => {
  const pod = new Keyring();
  pod.add(secret('regcred'), [{ key: 'registry.example.com', credential: cred('pod') }]);
  const node = new Keyring();
  node.add({ kind: 'node', name: 'config.json' }, [{ key: 'registry.example.com', credential: cred('node') }]);
  const got = unionLookup([pod, undefined, node], 'registry.example.com/app');
  t.same(got.map((m) => m.credential.username), ['pod', 'node']);
  t.same(unionLookup([pod, node], 'quay.io/app'), []);
});

t.test('identities never contain the secret and differ per credential', async (t) => {
  const k = new Keyring();
  k.add(secret('a'), [
    { key: 'one.example.com', credential: { username: 'u', password: 'hunter2-secret' } },
    { key: 'two.example.com', credential: { username: 'u', password: 'other-secret' } },
  ]);
  const [one] = k.lookup('one.example.com/x');
  const [two] = k.lookup('two.example.com/x');
  t.match(one!.id, /^cred:[0-9a-f]{32}$/);
  t.not(one!.id, two!.id);
  t.notMatch(one!.id, /hunter2/);
});
