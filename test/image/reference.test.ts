import t from 'tap';
import {
  InvalidReferenceError,
  REASON_IMAGE_EMPTY,
  goQuote,
  isDockerHub,
  isOfficialLibrary,
  parseReference,
  registryEndpointHost,
} from '../../src/image/reference.js';

// Digests from distribution's own examples (normalize.go ParseDockerRef comment).
const H64 = '7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa';
const H96 = H64 + H64.slice(0, 32);
const H128 = H64 + H64;

interface Valid {
  name: string;
  input: string;
  domain: string;
  path: string;
  tag?: string;
  digest?: string;
  defaulted?: boolean;
  normalized: string;
  familiar: string;
}

const valid: Valid[] = [
  { name: 'a bare official name gets docker.io, library/ and :latest', input: 'nginx', domain: 'docker.io', path: 'library/nginx', tag: 'latest', defaulted: true, normalized: 'docker.io/library/nginx:latest', familiar: 'nginx:latest' },
  { name: 'a written tag is kept and nothing is defaulted', input: 'nginx:1.14.2', domain: 'docker.io', path: 'library/nginx', tag: '1.14.2', normalized: 'docker.io/library/nginx:1.14.2', familiar: 'nginx:1.14.2' },
  { name: 'a misspelt name is still a well-formed reference', input: 'ngiinx:1.14.2', domain: 'docker.io', path: 'library/ngiinx', tag: '1.14.2', normalized: 'docker.io/library/ngiinx:1.14.2', familiar: 'ngiinx:1.14.2' },
  { name: 'library/ without a domain is Docker Hub', input: 'library/nginx', domain: 'docker.io', path: 'library/nginx', tag: 'latest', defaulted: true, normalized: 'docker.io/library/nginx:latest', familiar: 'nginx:latest' },
  { name: 'docker.io with one component gets library/', input: 'docker.io/nginx', domain: 'docker.io', path: 'library/nginx', tag: 'latest', defaulted: true, normalized: 'docker.io/library/nginx:latest', familiar: 'nginx:latest' },
  { name: 'index.docker.io is rewritten to docker.io', input: 'index.docker.io/library/nginx', domain: 'docker.io', path: 'library/nginx', tag: 'latest', defaulted: true, normalized: 'docker.io/library/nginx:latest', familiar: 'nginx:latest' },
  { name: 'index.docker.io with one component also gets library/', input: 'index.docker.io/nginx:1.25', domain: 'docker.io', path: 'library/nginx', tag: '1.25', normalized: 'docker.io/library/nginx:1.25', familiar: 'nginx:1.25' },
  { name: 'registry-1.docker.io stays its own domain and gets no library/', input: 'registry-1.docker.io/nginx', domain: 'registry-1.docker.io', path: 'nginx', tag: 'latest', defaulted: true, normalized: 'registry-1.docker.io/nginx:latest', familiar: 'registry-1.docker.io/nginx:latest' },
  { name: 'a two-component Hub name keeps its namespace', input: 'bitnami/redis:7.2', domain: 'docker.io', path: 'bitnami/redis', tag: '7.2', normalized: 'docker.io/bitnami/redis:7.2', familiar: 'bitnami/redis:7.2' },
  { name: 'a nested library/ path is not shortened in the familiar form', input: 'docker.io/library/nginx/extra', domain: 'docker.io', path: 'library/nginx/extra', tag: 'latest', defaulted: true, normalized: 'docker.io/library/nginx/extra:latest', familiar: 'library/nginx/extra:latest' },
  { name: 'localhost as the first of several components is a domain', input: 'localhost/foo', domain: 'localhost', path: 'foo', tag: 'latest', defaulted: true, normalized: 'localhost/foo:latest', familiar: 'localhost/foo:latest' },
  { name: 'localhost with a port and a tag', input: 'localhost:5000/foo:bar', domain: 'localhost:5000', path: 'foo', tag: 'bar', normalized: 'localhost:5000/foo:bar', familiar: 'localhost:5000/foo:bar' },
  { name: 'a bare localhost is an official image name (the FIXME in splitDockerDomain)', input: 'localhost', domain: 'docker.io', path: 'library/localhost', tag: 'latest', defaulted: true, normalized: 'docker.io/library/localhost:latest', familiar: 'localhost:latest' },
  { name: 'a bare localhost:5000 is image library/localhost with tag 5000', input: 'localhost:5000', domain: 'docker.io', path: 'library/localhost', tag: '5000', normalized: 'docker.io/library/localhost:5000', familiar: 'localhost:5000' },
  { name: 'a bare dotted name is an official image name, not a registry', input: 'example.com', domain: 'docker.io', path: 'library/example.com', tag: 'latest', defaulted: true, normalized: 'docker.io/library/example.com:latest', familiar: 'example.com:latest' },
  { name: 'an IPv4 registry with a port', input: '127.0.0.1:5000/a/b', domain: '127.0.0.1:5000', path: 'a/b', tag: 'latest', defaulted: true, normalized: '127.0.0.1:5000/a/b:latest', familiar: '127.0.0.1:5000/a/b:latest' },
  { name: 'a bracketed IPv6 registry with a port', input: '[::1]:5000/foo', domain: '[::1]:5000', path: 'foo', tag: 'latest', defaulted: true, normalized: '[::1]:5000/foo:latest', familiar: '[::1]:5000/foo:latest' },
  { name: 'a bracketed IPv6 registry without a port', input: '[2001:db8::1]/team/app:v2', domain: '[2001:db8::1]', path: 'team/app', tag: 'v2', normalized: '[2001:db8::1]/team/app:v2', familiar: '[2001:db8::1]/team/app:v2' },
  { name: 'a quay.io image with a v-prefixed tag', input: 'quay.io/prometheus/node-exporter:v1.8.0', domain: 'quay.io', path: 'prometheus/node-exporter', tag: 'v1.8.0', normalized: 'quay.io/prometheus/node-exporter:v1.8.0', familiar: 'quay.io/prometheus/node-exporter:v1.8.0' },
  { name: 'a gcr.io distroless image', input: 'gcr.io/distroless/static:nonroot', domain: 'gcr.io', path: 'distroless/static', tag: 'nonroot', normalized: 'gcr.io/distroless/static:nonroot', familiar: 'gcr.io/distroless/static:nonroot' },
  { name: 'a registry name with a colon but no dot is a domain', input: 'myregistry:5000/team/app', domain: 'myregistry:5000', path: 'team/app', tag: 'latest', defaulted: true, normalized: 'myregistry:5000/team/app:latest', familiar: 'myregistry:5000/team/app:latest' },
  { name: 'a deep path under a registry with port 443', input: 'registry.example.com:443/a/b/c/d:1.0', domain: 'registry.example.com:443', path: 'a/b/c/d', tag: '1.0', normalized: 'registry.example.com:443/a/b/c/d:1.0', familiar: 'registry.example.com:443/a/b/c/d:1.0' },
  { name: 'an upper-case first component is taken for a domain', input: 'Foo/bar', domain: 'Foo', path: 'bar', tag: 'latest', defaulted: true, normalized: 'Foo/bar:latest', familiar: 'Foo/bar:latest' },
  { name: 'Docker.io in capitals is a different domain, not Docker Hub', input: 'Docker.io/nginx', domain: 'Docker.io', path: 'nginx', tag: 'latest', defaulted: true, normalized: 'Docker.io/nginx:latest', familiar: 'Docker.io/nginx:latest' },
  { name: 'upper case is allowed in a domain', input: 'UPPER.example.com/foo', domain: 'UPPER.example.com', path: 'foo', tag: 'latest', defaulted: true, normalized: 'UPPER.example.com/foo:latest', familiar: 'UPPER.example.com/foo:latest' },
  { name: 'a digest alone gets no default tag', input: `nginx@sha256:${H64}`, domain: 'docker.io', path: 'library/nginx', digest: `sha256:${H64}`, normalized: `docker.io/library/nginx@sha256:${H64}`, familiar: `nginx@sha256:${H64}` },
  { name: 'a tag and a digest are both kept', input: `nginx:1.2@sha256:${H64}`, domain: 'docker.io', path: 'library/nginx', tag: '1.2', digest: `sha256:${H64}`, normalized: `docker.io/library/nginx:1.2@sha256:${H64}`, familiar: `nginx:1.2@sha256:${H64}` },
  { name: 'a digest on another registry', input: `ghcr.io/org/app@sha256:${H64}`, domain: 'ghcr.io', path: 'org/app', digest: `sha256:${H64}`, normalized: `ghcr.io/org/app@sha256:${H64}`, familiar: `ghcr.io/org/app@sha256:${H64}` },
  { name: 'a registry.k8s.io tag plus digest', input: `registry.k8s.io/ingress-nginx/controller:v1.9.4@sha256:${H64}`, domain: 'registry.k8s.io', path: 'ingress-nginx/controller', tag: 'v1.9.4', digest: `sha256:${H64}`, normalized: `registry.k8s.io/ingress-nginx/controller:v1.9.4@sha256:${H64}`, familiar: `registry.k8s.io/ingress-nginx/controller:v1.9.4@sha256:${H64}` },
  { name: 'a sha512 digest of 128 hex characters is accepted', input: `nginx@sha512:${H128}`, domain: 'docker.io', path: 'library/nginx', digest: `sha512:${H128}`, normalized: `docker.io/library/nginx@sha512:${H128}`, familiar: `nginx@sha512:${H128}` },
  { name: 'a sha384 digest of 96 hex characters is accepted', input: `nginx@sha384:${H96}`, domain: 'docker.io', path: 'library/nginx', digest: `sha384:${H96}`, normalized: `docker.io/library/nginx@sha384:${H96}`, familiar: `nginx@sha384:${H96}` },
  { name: 'a tag of 128 characters is the longest allowed', input: `nginx:${'t'.repeat(128)}`, domain: 'docker.io', path: 'library/nginx', tag: 't'.repeat(128), normalized: `docker.io/library/nginx:${'t'.repeat(128)}`, familiar: `nginx:${'t'.repeat(128)}` },
  { name: 'a double underscore separator is allowed', input: 'a__b', domain: 'docker.io', path: 'library/a__b', tag: 'latest', defaulted: true, normalized: 'docker.io/library/a__b:latest', familiar: 'a__b:latest' },
  { name: 'a single dash separator is allowed', input: 'a-b', domain: 'docker.io', path: 'library/a-b', tag: 'latest', defaulted: true, normalized: 'docker.io/library/a-b:latest', familiar: 'a-b:latest' },
  { name: 'repeated dashes are allowed', input: 'team/a--b', domain: 'docker.io', path: 'team/a--b', tag: 'latest', defaulted: true, normalized: 'docker.io/team/a--b:latest', familiar: 'team/a--b:latest' },
  { name: 'a single dot inside one component is a name, not a domain', input: 'a.b', domain: 'docker.io', path: 'library/a.b', tag: 'latest', defaulted: true, normalized: 'docker.io/library/a.b:latest', familiar: 'a.b:latest' },
  { name: 'an upper-case tag is valid', input: 'nginx:LATEST', domain: 'docker.io', path: 'library/nginx', tag: 'LATEST', normalized: 'docker.io/library/nginx:LATEST', familiar: 'nginx:LATEST' },
  { name: 'a tag may start with an underscore', input: 'nginx:_x', domain: 'docker.io', path: 'library/nginx', tag: '_x', normalized: 'docker.io/library/nginx:_x', familiar: 'nginx:_x' },
  { name: 'a tag may mix dots, dashes and underscores', input: 'app:1.0-rc.1_b', domain: 'docker.io', path: 'library/app', tag: '1.0-rc.1_b', normalized: 'docker.io/library/app:1.0-rc.1_b', familiar: 'app:1.0-rc.1_b' },
  { name: 'sha256:<hex> without a name is image library/sha256 with a 64-character tag', input: `sha256:${H64}`, domain: 'docker.io', path: 'library/sha256', tag: H64, normalized: `docker.io/library/sha256:${H64}`, familiar: `sha256:${H64}` },
  { name: 'a path of exactly 255 characters including library/ is allowed', input: 'a'.repeat(247), domain: 'docker.io', path: `library/${'a'.repeat(247)}`, tag: 'latest', defaulted: true, normalized: `docker.io/library/${'a'.repeat(247)}:latest`, familiar: `${'a'.repeat(247)}:latest` },
  { name: 'the domain does not count towards the 255-character limit', input: `quay.io/${'a'.repeat(250)}`, domain: 'quay.io', path: 'a'.repeat(250), tag: 'latest', defaulted: true, normalized: `quay.io/${'a'.repeat(250)}:latest`, familiar: `quay.io/${'a'.repeat(250)}:latest` },
  { name: 'a dotted first component that is no valid host stays in the path with an empty domain', input: 'a_b.c/d', domain: '', path: 'a_b.c/d', tag: 'latest', defaulted: true, normalized: 'a_b.c/d:latest', familiar: 'a_b.c/d:latest' },
  { name: 'a k8s.gcr.io pause image', input: 'k8s.gcr.io/pause:3.9', domain: 'k8s.gcr.io', path: 'pause', tag: '3.9', normalized: 'k8s.gcr.io/pause:3.9', familiar: 'k8s.gcr.io/pause:3.9' },
];

interface Invalid {
  name: string;
  input: string;
  reason: string;
}

const lower = (remote: string) => `invalid reference format: repository name (${remote}) must be lowercase`;

const invalid: Invalid[] = [
  { name: 'an empty image', input: '', reason: REASON_IMAGE_EMPTY },
  { name: 'an all-capitals official name', input: 'NGINX', reason: lower('library/NGINX') },
  { name: 'a capital in the repository path', input: 'foo/Bar', reason: lower('foo/Bar') },
  { name: 'a capital in the path under a registry', input: 'quay.io/Prometheus/node-exporter', reason: lower('Prometheus/node-exporter') },
  { name: 'a capitalised official name with a tag (only the part before the first colon is checked)', input: 'Nginx:1.0', reason: lower('library/Nginx') },
  { name: 'an upper-case first component that is neither host nor path fails Parse with its own text', input: 'Foo_x/bar', reason: 'repository name must be lowercase' },
  { name: 'a colon with no tag', input: 'nginx:', reason: 'invalid reference format' },
  { name: 'two tags', input: 'nginx:1.0:2', reason: 'invalid reference format' },
  { name: 'a space between name and tag', input: 'nginx latest', reason: 'invalid reference format' },
  { name: 'a leading space', input: ' nginx', reason: 'invalid reference format' },
  { name: 'a trailing space', input: 'nginx ', reason: 'invalid reference format' },
  { name: 'a trailing tab', input: 'nginx\t', reason: 'invalid reference format' },
  { name: 'a URL scheme', input: 'https://nginx', reason: 'invalid reference format' },
  { name: 'a URL with a registry', input: 'https://quay.io/foo/bar', reason: 'invalid reference format' },
  { name: 'a double slash', input: 'foo//bar', reason: 'invalid reference format' },
  { name: 'a trailing slash', input: 'foo/bar/', reason: 'invalid reference format' },
  { name: 'a leading slash', input: '/foo', reason: 'invalid reference format' },
  { name: 'two dots in a row', input: 'a..b', reason: 'invalid reference format' },
  { name: 'three underscores in a row', input: 'a___b', reason: 'invalid reference format' },
  { name: 'a leading dash', input: '-ab', reason: 'invalid reference format' },
  { name: 'a trailing dash', input: 'ab-', reason: 'invalid reference format' },
  { name: 'a tag starting with a dash', input: 'nginx:-x', reason: 'invalid reference format' },
  { name: 'a tag starting with a dot', input: 'nginx:.x', reason: 'invalid reference format' },
  { name: 'a tag of 129 characters', input: `nginx:${'t'.repeat(129)}`, reason: 'invalid reference format' },
  { name: 'an @ with no digest', input: 'nginx@', reason: 'invalid reference format' },
  { name: 'a digest shorter than 32 hex characters fails the grammar', input: 'nginx@sha256:abc', reason: 'invalid reference format' },
  { name: 'a digest with non-hex characters fails the grammar', input: `nginx@sha256:${'g'.repeat(64)}`, reason: 'invalid reference format' },
  { name: 'a sha256 digest one character short', input: `nginx@sha256:${H64.slice(1)}`, reason: 'invalid checksum digest length' },
  { name: 'a sha256 digest one character long', input: `nginx@sha256:${H64}a`, reason: 'invalid checksum digest length' },
  { name: 'a sha512 digest with sha256 length', input: `nginx@sha512:${H64}`, reason: 'invalid checksum digest length' },
  { name: 'a sha256 digest in upper-case hex', input: `nginx@sha256:${H64.toUpperCase()}`, reason: 'invalid checksum digest format' },
  { name: 'an upper-case algorithm without a tag trips the lowercase check, which reads up to the first colon', input: `nginx@SHA256:${H64}`, reason: lower('library/nginx@SHA256') },
  { name: 'an upper-case algorithm after a tag reaches go-digest', input: `nginx:1@SHA256:${H64}`, reason: 'invalid checksum digest format' },
  { name: 'an unknown algorithm', input: `nginx@md5:${H64.slice(0, 32)}`, reason: 'unsupported digest algorithm' },
  { name: 'sha1 is not registered by go-digest', input: `nginx@sha1:${H64.slice(0, 40)}`, reason: 'unsupported digest algorithm' },
  { name: 'a path of 256 characters including library/', input: 'a'.repeat(248), reason: 'repository name must not be more than 255 characters' },
  { name: 'a path of 256 characters under a registry', input: `quay.io/${'a'.repeat(256)}`, reason: 'repository name must not be more than 255 characters' },
  { name: 'a bare 64-hex image ID', input: H64, reason: `invalid repository name (${H64}), cannot specify 64-byte hexadecimal strings` },
  { name: 'an unbracketed IPv6 address', input: '::1/foo', reason: 'invalid reference format' },
  { name: 'an IPv6 zone identifier', input: '[fe80::1%eth0]:5000/foo', reason: 'invalid reference format' },
  { name: 'an underscore in a registry host with a port', input: 'my_registry:5000/foo', reason: 'invalid reference format' },
];

t.test('the tables hold at least fifty references', async (t) => {
  t.ok(valid.length + invalid.length >= 50, `${valid.length + invalid.length} rows`);
});

t.test('valid references normalise as ParseNormalizedNamed plus the kubelet default tag', async (t) => {
  for (const row of valid) {
    t.test(row.name, async (t) => {
      const r = parseReference(row.input);
      t.equal(r.original, row.input, 'original is kept verbatim');
      t.equal(r.domain, row.domain, 'domain');
      t.equal(r.path, row.path, 'path');
      t.equal(r.tag, row.tag, 'tag');
      t.equal(r.digest, row.digest, 'digest');
      t.equal(r.tagDefaulted, row.defaulted ?? false, 'tagDefaulted');
      t.equal(r.normalized, row.normalized, 'normalized');
      t.equal(r.familiar, row.familiar, 'familiar');
      t.equal(r.name, row.domain === '' ? row.path : `${row.domain}/${row.path}`, 'name is domain/path');
      t.equal(r.reference, row.digest ?? row.tag, 'the registry is asked for the digest when there is one, else the tag');
    });
  }
});

t.test('the normalized and familiar forms parse back to the same reference', async (t) => {
  for (const row of valid) {
    t.equal(parseReference(row.normalized).normalized, row.normalized, `normalized of ${row.name}`);
    t.equal(parseReference(row.familiar).normalized, row.normalized, `familiar of ${row.name}`);
  }
});

t.test('invalid references fail with distribution’s own reason', async (t) => {
  for (const row of invalid) {
    t.test(row.name, async (t) => {
      const err = t.throws(() => parseReference(row.input)) as unknown;
      t.type(err, InvalidReferenceError);
      const e = err as InvalidReferenceError;
      t.equal(e.reason, row.reason, 'reason');
      t.equal(e.input, row.input, 'input is kept verbatim');
      t.equal(e.code, 'INVALID_REFERENCE', 'code');
    });
  }
});

t.test('the error message is the kubelet event text', async (t) => {
  const cases = [
    {
      name: 'an upper-case name, as in the InvalidImageName event',
      input: 'NGINX',
      message: 'Failed to apply default image tag "NGINX": couldn\'t parse image reference "NGINX": invalid reference format: repository name (library/NGINX) must be lowercase',
    },
    {
      name: 'a control character is quoted the way Go %q does',
      input: 'nginx\t',
      message: 'Failed to apply default image tag "nginx\\t": couldn\'t parse image reference "nginx\\t": invalid reference format',
    },
    {
      name: 'a digest error keeps go-digest’s words',
      input: `nginx@sha256:${H64.slice(1)}`,
      message: `Failed to apply default image tag "nginx@sha256:${H64.slice(1)}": couldn't parse image reference "nginx@sha256:${H64.slice(1)}": invalid checksum digest length`,
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const e = t.throws(() => parseReference(c.input)) as InvalidReferenceError;
      t.equal(e.message, c.message);
      t.equal(e.name, 'InvalidReferenceError');
    });
  }
});

t.test('goQuote matches Go strconv.Quote', async (t) => {
  const cases: [string, string, string][] = [
    ['plain text is wrapped in quotes', 'nginx', '"nginx"'],
    ['a double quote is escaped', 'a"b', '"a\\"b"'],
    ['a backslash is escaped', 'a\\b', '"a\\\\b"'],
    ['named control escapes are used', '\t\n\r\v\f\b\u0007', '"\\t\\n\\r\\v\\f\\b\\a"'],
    ['other ASCII controls and DEL become \\x', '\u0001\u007f', '"\\x01\\x7f"'],
    ['a no-break space is not printable in Go', '\u00a0', '"\\u00a0"'],
    ['a zero-width space is escaped', '\u200b', '"\\u200b"'],
    ['printable non-ASCII letters are kept', 'é', '"é"'],
    ['an emoji is printable and kept', '\u{1F600}', '"\u{1F600}"'],
    ['a non-printable astral rune uses \\U', '\u{E0001}', '"\\U000e0001"'],
  ];
  for (const [name, input, want] of cases) t.equal(goQuote(input), want, name);
});

t.test('registryEndpointHost', async (t) => {
  const cases: [string, string, string][] = [
    ['Docker Hub is served by registry-1.docker.io', 'docker.io', 'registry-1.docker.io'],
    ['the legacy index name maps to the same host', 'index.docker.io', 'registry-1.docker.io'],
    ['another registry is its own host', 'quay.io', 'quay.io'],
    ['a port is kept', 'localhost:5000', 'localhost:5000'],
    ['an IPv6 host is kept bracketed', '[::1]:5000', '[::1]:5000'],
  ];
  for (const [name, domain, want] of cases) t.equal(registryEndpointHost(domain), want, name);
});

t.test('isDockerHub', async (t) => {
  const cases: [string, string, boolean][] = [
    ['docker.io is Docker Hub', 'docker.io', true],
    ['index.docker.io is Docker Hub', 'index.docker.io', true],
    ['registry-1.docker.io is Docker Hub', 'registry-1.docker.io', true],
    ['quay.io is not', 'quay.io', false],
    ['Docker.io in capitals is not (distribution keeps it as another domain)', 'Docker.io', false],
  ];
  for (const [name, domain, want] of cases) t.equal(isDockerHub(domain), want, name);
});

t.test('isOfficialLibrary', async (t) => {
  const cases: [string, string, boolean][] = [
    ['a bare name is an official image', 'nginx', true],
    ['an explicit docker.io/library name is official', 'docker.io/library/postgres:16', true],
    ['a user namespace is not', 'bitnami/redis', false],
    ['a nested library/ path is not', 'docker.io/library/nginx/extra', false],
    ['library/ on another registry is not', 'quay.io/library/nginx', false],
    ['registry-1.docker.io is not normalised to Hub', 'registry-1.docker.io/library/nginx', false],
  ];
  for (const [name, input, want] of cases) t.equal(isOfficialLibrary(parseReference(input)), want, name);
});

t.test('pathological input is rejected quickly', async (t) => {
  const inputs = ['a-'.repeat(50_000) + '!', `${'a.'.repeat(50_000)}/b!`, `x/${'a_'.repeat(50_000)}`, 'A'.repeat(100_000) + '/b!'];
  for (const input of inputs) {
    const start = performance.now();
    t.throws(() => parseReference(input), InvalidReferenceError);
    t.ok(performance.now() - start < 1000, `parsed ${input.length} characters in under a second`);
  }
});
