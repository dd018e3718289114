// ImageFacts with pull credentials, against real registries (htpasswd and token auth), and the
// facts + check together behind a real nginx that rate-limits, and with a mirror:
//   - candidates are tried in order; the first that pulls decides and is named;
//   - a rejected credential is followed by the next (two candidates, the first rejected);
//   - every candidate rejected: unauthorized with the rejected list (never anonymous);
//   - a bad matching secret breaks even a public image;
//   - the cache key holds the credential's identity, never the secret;
//   - a 429 warns, backs the registry off, and cached verdicts keep serving;
//   - a mirror that has the image while the upstream is down: allowed, no warning.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageExists } from '../../src/checks/image-exists.js';
import type { CheckPorts, CredentialCandidate, ImageLookup } from '../../src/checks/ports.js';
import type { Finding } from '../../src/checks/types.js';
import { credentialId } from '../../src/credentials/keyring.js';
import { RegistryImageFacts } from '../../src/facts/registry-image-facts.js';
import { parseReference } from '../../src/image/reference.js';
import { RegistryClient } from '../../src/registry/client.js';
import { proxyTo, startNginx } from '../helpers/nginx.js';
import { freePort } from '../helpers/ports.js';
import { pushImage, seedStandardFixtures } from '../helpers/registry-fixtures.js';
import { startRegistry } from '../helpers/registry.js';
import { inputFor, podObject } from '../helpers/workloads.js';

t.setTimeout(120_000);

const cache = { positiveTtlMs: 60_000, negativeTtlMs: 60_000, errorTtlMs: 1000, maxEntries: 100 };
const signal = new AbortController().signal;
const GOOD = 'good-password-4711';
const BAD = 'wrong-password-0815';

function cand(source: string, key: string, credential: CredentialCandidate['credential']): CredentialCandidate {
  return { source, key, credential, id: credentialId(credential) };
}

t.test('htpasswd registry: order, rejection, identity', async (t) => {
  const reg = await startRegistry({ auth: 'htpasswd', users: { alice: GOOD } });
  t.teardown(() => reg.stop());
  const fixtures = await seedStandardFixtures(reg);
  const client = new RegistryClient({ hosts: { [reg.host]: { ca: reg.caPem, allowPrivateNetwork: true } }, timeoutMs: 5000 });
  t.teardown(() => client.close());
  const heads: Array<string | undefined> = [];
  const facts = new RegistryImageFacts({
    registry: {
      headManifest: (ref, o) => (heads.push(o?.credential?.password), client.headManifest(ref, o)),
      listTags: (ref, o) => client.listTags(ref, o),
    },
    cache,
    credentialsOnNodes: [],
    offlineDockerHubCheck: true,
  });
  const ref = parseReference(`${reg.host}/private/app:1.0`);
  const good = cand('secret team/good', reg.host, { username: 'alice', password: GOOD });
  const bad = cand('secret team/stale', `https://${reg.host}`, { username: 'alice', password: BAD });

  t.test('two candidates, the first rejected: the second pulls and is named', async (t) => {
    const r = await facts.lookup(ref, signal, { credentials: [bad, good] });
    t.same(r, { status: 'found', registry: reg.host, digest: fixtures['private/app:1.0'], credential: { source: 'secret team/good', key: reg.host } });
    t.same(heads, [BAD, GOOD], 'tried in order');
  });

  t.test('every candidate rejected: unauthorized, the rejected listed, no anonymous try', async (t) => {
    heads.length = 0;
    const other = cand('secret team/other', reg.host, { username: 'mallory', password: 'nope-nope-1' });
    const r = await facts.lookup(ref, signal, { credentials: [bad, other] });
    t.match(r, { status: 'unauthorized', registry: reg.host, rejected: [{ source: 'secret team/stale', key: `https://${reg.host}` }, { source: 'secret team/other', key: reg.host }] });
    t.same(heads, ['nope-nope-1'], 'the first rejection was cached; no anonymous attempt');
  });

  t.test('a missing tag with an accepted credential: not-found, naming it', async (t) => {
    const r = await facts.lookup(parseReference(`${reg.host}/private/app:1.1`), signal, { credentials: [good] });
    t.match(r, { status: 'not-found', what: 'tag', suggestions: ['1.0'], credential: { source: 'secret team/good' } });
  });

  t.test('no candidates: anonymous, refused, nothing rejected', async (t) => {
    const r = await facts.lookup(ref, signal);
    t.equal(r.status, 'unauthorized');
    t.equal((r as Extract<ImageLookup, { status: 'unauthorized' }>).rejected, undefined);
  });

  t.test('the cache holds identities, never secrets', async (t) => {
    const keys = [...(facts as unknown as { cache: { entries: Map<string, unknown> } }).cache.entries.keys()];
    t.ok(keys.length >= 3);
    t.ok(keys.some((k) => k.endsWith(`#${good.id}`)));
    t.notOk(keys.some((k) => k.includes(GOOD) || k.includes(BAD)), 'no password in any cache key');
  });
});

t.test('token registry: a bad matching secret breaks even a public image; identity tokens work', async (t) => {
  const REFRESH = 'refresh-token-of-alice-42';
  const reg = await startRegistry({ auth: 'token', users: { alice: GOOD }, tokenServer: { refreshTokens: { [REFRESH]: 'alice' } } });
  t.teardown(() => reg.stop());
  const fixtures = await seedStandardFixtures(reg);
  const client = new RegistryClient({ hosts: { [reg.host]: { ca: reg.caPem, allowPrivateNetwork: true } }, timeoutMs: 5000 });
  t.teardown(() => client.close());
  const facts = new RegistryImageFacts({ registry: client, cache, credentialsOnNodes: [], offlineDockerHubCheck: true });
  const pub = parseReference(`${reg.host}/library/nginx:1.14.2`);
  t.equal((await facts.lookup(pub, signal)).status, 'found', 'public anonymously');
  const r = await facts.lookup(pub, signal, { credentials: [cand('secret default/typo', reg.host, { username: 'alice', password: BAD })] });
  t.match(r, { status: 'unauthorized', rejected: [{ source: 'secret default/typo', key: reg.host }] }, 'the node never falls back to anonymous');
  const viaIdentity = await facts.lookup(parseReference(`${reg.host}/private/app:1.0`), signal, { credentials: [cand('secret default/oauth', reg.host, { identityToken: REFRESH })] });
  t.match(viaIdentity, { status: 'found', digest: fixtures['private/app:1.0'], credential: { source: 'secret default/oauth' } });
});

t.test('nginx 429: the check warns, the registry is backed off, cached verdicts keep serving', async (t) => {
  const reg = await startRegistry({ auth: 'none' });
  t.teardown(() => reg.stop());
  for (const tag of ['1', '2', '3']) await pushImage(reg, { repo: 'team/app', tag });
  const dir = mkdtempSync(join(tmpdir(), 'bg-facts-429-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const accessLog = join(dir, 'access.log');
  const port = await freePort();
  const nginx = await startNginx(
    `
  limit_req_zone $server_port zone=pulls:1m rate=6r/m;
  log_format calls '$request_method $uri $status';
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${reg.certFile};
    ssl_certificate_key ${reg.keyFile};
    access_log ${accessLog} calls;
    location ~ /manifests/ {
      limit_req zone=pulls nodelay;
      limit_req_status 429;
      add_header ratelimit-limit "100;w=21600" always;
      add_header ratelimit-remaining "0;w=21600" always;
      add_header retry-after 600 always;
      ${proxyTo(reg.port)}
    }
    location / {
      ${proxyTo(reg.port)}
    }
  }`,
    port,
  );
  t.teardown(() => nginx.stop());
  const domain = `127.0.0.1:${port}`;
  const client = new RegistryClient({ hosts: { [domain]: { ca: reg.caPem, allowPrivateNetwork: true } }, timeoutMs: 3000 });
  t.teardown(() => client.close());
  const facts = new RegistryImageFacts({ registry: client, cache, credentialsOnNodes: [], offlineDockerHubCheck: true });
  const ports: CheckPorts = { images: facts };
  const check = async (image: string) => {
    const input = { ...inputFor('Pod', podObject([{ name: 'app', image }])), image: parseReference(image) };
    return (await imageExists.run(input, ports)) as Finding[];
  };
  const manifestCalls = () => readFileSync(accessLog, 'utf8').split('\n').filter((l) => l.includes('/manifests/')).length;

  const first = await check(`${domain}/team/app:1`);
  t.equal(first.length, 1, 'found, but the quota is spent');
  t.match(first[0]!.message, `${domain} has 0 pulls left of 100 per 6 h`);
  const started = Date.now();
  const [limited] = await check(`${domain}/team/app:2`);
  t.equal(limited!.certainty, 'likely', 'a 429 is a warning: allowed');
  t.match(limited!.message, new RegExp(`^${domain.replace(/\./g, '\\.')} is rate limiting pulls \\(429 toomanyrequests\\): they may fail until 20\\d\\d-\\d\\d-\\d\\dT\\S+Z \\(ErrImagePull, then ImagePullBackOff\\)`));
  const until = Date.parse(/until (\S+Z) /.exec(limited!.message)![1]!);
  t.ok(until >= started + 599_000 && until <= Date.now() + 601_000, 'until = now + Retry-After');
  const calls = manifestCalls();
  const [next] = await check(`${domain}/team/app:3`);
  t.match(next!.message, 'is rate limiting pulls');
  t.equal(manifestCalls(), calls, 'backed off: no further call to the registry');
  const again = await check(`${domain}/team/app:1`);
  t.match(again[0]?.message ?? '', 'has 0 pulls left', 'the cached verdict for :1 keeps serving');
  t.equal(manifestCalls(), calls);
});

t.test('a mirror with the image, the upstream down: allowed, no warning', async (t) => {
  const mirror = await startRegistry({ auth: 'none' });
  t.teardown(() => mirror.stop());
  await pushImage(mirror, { repo: 'team/app', tag: '1.0' });
  const client = new RegistryClient({
    timeoutMs: 2000,
    hosts: { 'registry.example.com': { server: `https://127.0.0.1:${await freePort()}`, allowPrivateNetwork: true, mirrors: [{ server: mirror.url, ca: mirror.caPem, allowPrivateNetwork: true }] } },
  });
  t.teardown(() => client.close());
  const facts = new RegistryImageFacts({ registry: client, cache, credentialsOnNodes: [], offlineDockerHubCheck: true });
  const image = 'registry.example.com/team/app:1.0';
  const findings = await imageExists.run({ ...inputFor('Pod', podObject([{ name: 'app', image }])), image: parseReference(image) }, { images: facts });
  t.same(findings, []);
  t.match(await facts.lookup(parseReference(image), signal), { status: 'found', mirror: mirror.host });
});
