// Docker config and pull-secret parsing as the kubelet does it (config.go, secrets.go): tables.
import t from 'tap';
import { decodeAuthField, parseDockerConfigFile, parseDockerConfigJson, parseDockercfg, parsePullSecret } from '../../src/credentials/index.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

t.test('auths: auth, username/password, tokens', async (t) => {
  const entries = parseDockerConfigJson(
    JSON.stringify({
      auths: {
        'registry.example.com': { auth: b64('alice:pa:ss') },
        'quay.io': { username: 'bob', password: 'bob-pw', email: 'b@example.com' },
        'both.example.com': { username: 'ignored', password: 'ignored', auth: b64('carol:carol-pw') },
        'oauth.example.com': { identitytoken: 'refresh-123' },
        'bearer.example.com': { registrytoken: 'bearer-456' },
        'empty.example.com': {},
        'null.example.com': null,
      },
    }),
  );
  t.same(entries, [
    { key: 'registry.example.com', credential: { username: 'alice', password: 'pa:ss' } },
    { key: 'quay.io', credential: { username: 'bob', password: 'bob-pw' } },
    { key: 'both.example.com', credential: { username: 'carol', password: 'carol-pw' } },
    { key: 'oauth.example.com', credential: { identityToken: 'refresh-123' } },
    { key: 'bearer.example.com', credential: { registryToken: 'bearer-456' } },
    { key: 'empty.example.com', credential: {} },
    { key: 'null.example.com', credential: {} },
  ]);
});

t.test("member names match case-insensitively, as Go's encoding/json does", async (t) => {
  const entries = parseDockerConfigJson('{"Auths": {"r.example.com": {"USERNAME": "u", "Password": "p"}}}');
  t.same(entries, [{ key: 'r.example.com', credential: { username: 'u', password: 'p' } }]);
  const dup = parseDockerConfigJson('{"auths": {"r.example.com": {"username": "first", "Username": "last"}}}');
  t.equal(dup[0]!.credential.username, 'last', 'the last matching member wins');
});

t.test('.dockercfg: the map itself', async (t) => {
  t.same(parseDockercfg(JSON.stringify({ 'https://index.docker.io/v1/': { auth: b64('u:p'), email: 'x@y' } })), [
    { key: 'https://index.docker.io/v1/', credential: { username: 'u', password: 'p' } },
  ]);
});

t.test('auth field decoding (decodeDockerConfigFieldAuth)', async (t) => {
  const rows: Array<[string, { username: string; password: string } | string]> = [
    [b64('user:pw'), { username: 'user', password: 'pw' }],
    [b64('user:'), { username: 'user', password: '' }],
    [b64(':pw'), { username: '', password: 'pw' }],
    [b64('user:p:w'), { username: 'user', password: 'p:w' }],
    [b64('ab:c').replace(/=+$/, ''), { username: 'ab', password: 'c' }], // unpadded: RawStdEncoding
    [`${b64('user:pw').slice(0, 4)}\n${b64('user:pw').slice(4)}`, { username: 'user', password: 'pw' }], // newlines skipped
    [b64('nocolon'), 'unable to parse auth field, must be formatted as base64(username:password)'],
    ['not base64!', 'is not valid base64'],
    ['YWI6Yw=', 'is not valid base64'], // padded but not a multiple of 4
    [` ${b64('user:pw')}`, 'is not valid base64'], // Go does not trim before decoding
  ];
  for (const [field, want] of rows) {
    const got = decodeAuthField(field);
    if (typeof want === 'string') t.same(got, { error: want }, JSON.stringify(field));
    else t.same(got, want, JSON.stringify(field));
  }
});

t.test('malformed configs: the reason names the key and field, never the value', async (t) => {
  const rows: Array<[string, string]> = [
    ['{', 'is not valid JSON'],
    ['[]', 'is a JSON array, not an object'],
    ['{"auths": "x"}', 'auths is a string, not an object'],
    ['{"auths": {"r.example.com": "x"}}', 'auths["r.example.com"] is a string, not an object'],
    ['{"auths": {"r.example.com": {"username": 5}}}', 'auths["r.example.com"].username is a number, not a string'],
    [`{"auths": {"r.example.com": {"auth": "${b64('secret-without-colon')}"}}}`, 'auths["r.example.com"].auth unable to parse auth field'],
    ['{"auths": {}, "HttpHeaders": {"X": 1}}', 'HttpHeaders["X"] is a number, not a string'],
  ];
  for (const [json, reason] of rows) {
    let got = '';
    try {
      parseDockerConfigJson(json);
    } catch (err) {
      got = (err as { reason?: string }).reason ?? '';
    }
    t.ok(got.startsWith(reason), `${json} -> ${reason} (got ${got})`);
  }
  try {
    parseDockerConfigJson(`{"auths": {"r.example.com": {"auth": "${b64('secret-without-colon')}"}}}`);
  } catch (err) {
    t.notMatch(String((err as Error).message), /secret-without-colon|c2VjcmV0/);
  }
  t.same(parseDockerConfigJson('null'), [], 'null is an empty config, as in Go');
  t.same(parseDockerConfigJson('{"auths": null}'), []);
  t.same(parseDockerConfigJson('{"auths": {"r": {"identitytoken": 5}}}'), [{ key: 'r', credential: {} }], 'fields the kubelet does not know are not type-checked');
});

t.test('pull secrets: type and key decide, as secretsToTrackedDockerConfigs', async (t) => {
  const json = Buffer.from(JSON.stringify({ auths: { 'r.example.com': { auth: b64('u:p') } } }));
  const cfg = Buffer.from(JSON.stringify({ 'r.example.com': { auth: b64('u:p') } }));
  t.match(parsePullSecret({ type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': json } }), { status: 'ok', format: 'dockerconfigjson', entries: [{ key: 'r.example.com' }] });
  t.match(parsePullSecret({ type: 'kubernetes.io/dockercfg', data: { '.dockercfg': cfg } }), { status: 'ok', format: 'dockercfg' });
  t.same(parsePullSecret({ type: 'Opaque', data: { '.dockerconfigjson': json } }), {
    status: 'ignored',
    reason: 'it is of type "Opaque", not kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg',
  });
  t.same(parsePullSecret({ type: 'kubernetes.io/dockercfg', data: { '.dockerconfigjson': json } }), { status: 'ignored', reason: 'it has no .dockercfg data' });
  t.same(parsePullSecret({ type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.alloc(0) } }), { status: 'ignored', reason: 'it has no .dockerconfigjson data' });
  t.same(parsePullSecret({ type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from('{"auths": {"r": {"auth": "!!"}}}') } }), {
    status: 'invalid',
    reason: '.dockerconfigjson auths["r"].auth is not valid base64',
  });
});

t.test('docker CLI config file: credHelpers and credsStore are reported, not used', async (t) => {
  const { entries, extras } = parseDockerConfigFile(JSON.stringify({ auths: { 'r.example.com': { auth: b64('u:p') } }, credHelpers: { 'gcr.io': 'gcloud' }, credsStore: 'desktop' }));
  t.equal(entries.length, 1);
  t.same(extras, { credHelpers: ['gcr.io'], credsStore: 'desktop' });
});
