import t from 'tap';
import {
  RegistryError,
  errnoOf,
  isTemporary,
  kindForLowLevel,
  kindForStatus,
  parseErrorBody,
  redactUrl,
  retryAfterMs,
  scrub,
} from '../../src/registry/errors.js';
import { credentialIdentity, tokenExpiry } from '../../src/registry/token.js';
import { nextLink } from '../../src/registry/client.js';

t.setTimeout(10_000);

t.test('parseErrorBody', async (t) => {
  t.same(parseErrorBody(Buffer.from('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}')), {
    codes: ['MANIFEST_UNKNOWN'],
    detail: 'manifest unknown',
  });
  t.same(parseErrorBody(Buffer.from('{"errors":[{"code":"DENIED","message":"a"},{"code":"UNAUTHORIZED","message":"b"}]}')), { codes: ['DENIED', 'UNAUTHORIZED'], detail: 'a; b' });
  t.same(parseErrorBody(Buffer.from('{"details":"incorrect username or password"}')), { codes: [], detail: 'incorrect username or password' });
  t.same(parseErrorBody(Buffer.from('{"error":"invalid_grant","error_description":"bad refresh token"}')), { codes: [], detail: 'bad refresh token' });
  t.same(parseErrorBody(Buffer.from('{"error":"invalid_grant"}')), { codes: [], detail: 'invalid_grant' });
  t.same(parseErrorBody(Buffer.from('<html>502 Bad Gateway</html>')), { codes: [] });
  t.same(parseErrorBody(Buffer.from('null')), { codes: [] });
  t.same(parseErrorBody(Buffer.from('{"errors":[{"code":"<script>","message":1}]}')), { codes: [] });
  t.same(parseErrorBody(Buffer.alloc(0)), { codes: [] });
  t.same(parseErrorBody(undefined), { codes: [] });
});

t.test('kindForStatus', async (t) => {
  t.equal(kindForStatus(404, []), 'not-found');
  t.equal(kindForStatus(401, ['UNAUTHORIZED']), 'unauthorized');
  t.equal(kindForStatus(403, ['DENIED']), 'denied');
  t.equal(kindForStatus(429, []), 'rate-limited');
  t.equal(kindForStatus(403, ['TOOMANYREQUESTS']), 'rate-limited', 'the code wins over the status');
  t.equal(kindForStatus(500, []), 'server');
  t.equal(kindForStatus(503, []), 'server');
  t.equal(kindForStatus(400, ['NAME_INVALID']), 'protocol');
});

t.test('isTemporary is computed from data', async (t) => {
  t.equal(isTemporary('server', 503, []), true);
  t.equal(isTemporary('server', 501, []), false);
  t.equal(isTemporary('rate-limited', 429, []), true);
  t.equal(isTemporary('timeout', undefined, []), true);
  t.equal(isTemporary('network', undefined, [], 'ECONNREFUSED'), true);
  t.equal(isTemporary('network', undefined, [], 'ENOTFOUND'), false);
  t.equal(isTemporary('not-found', 404, ['MANIFEST_UNKNOWN']), false);
  t.equal(isTemporary('unauthorized', 401, []), false);
  t.equal(isTemporary('protocol', 400, ['UNAVAILABLE']), true);
  t.equal(isTemporary('blocked', undefined, []), false);
  t.equal(isTemporary('tls', undefined, []), false);
});

t.test('kindForLowLevel uses codes only', async (t) => {
  t.equal(kindForLowLevel('ECONNREFUSED'), 'network');
  t.equal(kindForLowLevel('ECONNRESET'), 'network');
  t.equal(kindForLowLevel('ENOTFOUND'), 'network');
  t.equal(kindForLowLevel('UND_ERR_SOCKET'), 'network');
  t.equal(kindForLowLevel('UND_ERR_CONNECT_TIMEOUT'), 'timeout');
  t.equal(kindForLowLevel('UND_ERR_HEADERS_TIMEOUT'), 'timeout');
  t.equal(kindForLowLevel('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'tls');
  t.equal(kindForLowLevel('CERT_HAS_EXPIRED'), 'tls');
  t.equal(kindForLowLevel('ERR_TLS_CERT_ALTNAME_INVALID'), 'tls');
  t.equal(kindForLowLevel('ERR_SSL_WRONG_VERSION_NUMBER'), 'tls');
  t.equal(kindForLowLevel('EBLOCKED'), 'blocked');
  t.equal(kindForLowLevel(undefined), 'network');
  const wrapped = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET', cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) });
  t.equal(errnoOf(wrapped), 'ECONNRESET');
  t.equal(errnoOf(new Error('no code', { cause: Object.assign(new Error('inner'), { code: 'EPIPE' }) })), 'EPIPE');
});

t.test('retryAfterMs', async (t) => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  t.equal(retryAfterMs({ 'retry-after': '120' }, now), 120_000);
  t.equal(retryAfterMs({ 'retry-after': 'Wed, 01 Jan 2025 00:00:30 GMT' }, now), 30_000);
  t.equal(retryAfterMs({ 'retry-after': 'Tue, 31 Dec 2024 00:00:30 GMT' }, now), 0, 'a date in the past: now');
  t.equal(retryAfterMs({ 'ratelimit-reset': '45' }, now), 45_000);
  t.equal(retryAfterMs({ 'x-ratelimit-reset': String(now / 1000 + 60) }, now), 60_000, 'epoch seconds');
  t.equal(retryAfterMs({ 'ratelimit-remaining': '0;w=21600' }, now), 21_600_000);
  t.equal(retryAfterMs({ 'ratelimit-remaining': '12;w=21600' }, now), undefined, 'quota left: no hint');
  t.equal(retryAfterMs({ 'retry-after': 'soon' }, now), undefined);
  t.equal(retryAfterMs({}, now), undefined);
});

t.test('redactUrl', async (t) => {
  t.equal(redactUrl('https://user:pass@r.example/v2/?service=s&scope=repository:a:pull'), 'https://r.example/v2/?service=s&scope=repository%3Aa%3Apull');
  t.equal(redactUrl('https://s3.example/blob?X-Amz-Signature=abc&X-Amz-Credential=def#frag'), 'https://s3.example/blob?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED');
  t.equal(redactUrl('not a url'), '<invalid url>');
  t.equal(redactUrl(undefined), '');
});

t.test('scrub', async (t) => {
  t.equal(scrub('echo: hunter2-secret!', ['hunter2-secret']), 'echo: <redacted>!');
  t.equal(scrub('a\r\nb\u0000c'), 'a b c');
  t.equal(scrub('x'.repeat(600)).length, 513);
});

t.test('RegistryError shape', async (t) => {
  const err = new RegistryError({
    kind: 'not-found',
    host: 'docker.io',
    url: 'https://u:p@registry-1.docker.io/v2/library/nginx/manifests/nope?token=abc',
    method: 'HEAD',
    status: 404,
    codes: ['MANIFEST_UNKNOWN'],
    detail: 'manifest unknown',
    anonymous: true,
  });
  t.equal(err.name, 'RegistryError');
  t.ok(err instanceof Error);
  t.equal(err.url, 'https://registry-1.docker.io/v2/library/nginx/manifests/nope?token=REDACTED');
  t.equal(err.message, 'registry docker.io: not found (404 MANIFEST_UNKNOWN): manifest unknown [HEAD https://registry-1.docker.io/v2/library/nginx/manifests/nope?token=REDACTED]');
  const json = JSON.parse(JSON.stringify(err)) as Record<string, unknown>;
  t.match(json, { kind: 'not-found', status: 404, codes: ['MANIFEST_UNKNOWN'], temporary: false, anonymous: true, host: 'docker.io' });
  t.notOk('cause' in json);
});

t.test('token expiry', async (t) => {
  const now = 1_700_000_000_000;
  t.equal(tokenExpiry(now, 300, undefined), now + 300_000 - 10_000);
  t.equal(tokenExpiry(now, undefined, undefined), now + 60_000 - 6_000, 'default 60 s');
  t.equal(tokenExpiry(now, 1, undefined), now + 900);
  t.equal(tokenExpiry(now, 300, new Date(now - 100_000).toISOString()), now + 200_000 - 10_000, 'issued earlier: counts from issued_at');
  t.equal(tokenExpiry(now, 300, new Date(now + 100_000).toISOString()), now + 290_000, 'issued_at in our future: ignored');
  t.equal(tokenExpiry(now, -5, 'garbage'), now + 54_000, 'nonsense: default');
});

t.test('credentialIdentity never contains the secret', async (t) => {
  const a = credentialIdentity({ username: 'alice', password: 'secret-password' });
  t.notMatch(a, /secret-password/);
  t.equal(a, credentialIdentity({ username: 'alice', password: 'secret-password' }));
  t.not(a, credentialIdentity({ username: 'alice', password: 'other' }));
  t.equal(credentialIdentity(undefined), 'anonymous');
  t.equal(credentialIdentity({}), 'anonymous');
  t.match(credentialIdentity({ identityToken: 'tok' }), /^identity:/);
});

t.test('nextLink', async (t) => {
  t.equal(nextLink('</v2/a/tags/list?last=b&n=2>; rel="next"'), '/v2/a/tags/list?last=b&n=2');
  t.equal(nextLink('<https://r/v2/_catalog?n=1>; rel=next'), 'https://r/v2/_catalog?n=1');
  t.equal(nextLink('</prev>; rel="prev", </next>; rel="next"'), '/next');
  t.equal(nextLink('</x>; rel="nextish"'), undefined);
  t.equal(nextLink(undefined), undefined);
});
