// image-exists with pull credentials, node caches, pull policies and rate limits: the check is a
// pure rule over its ports, so these tables hand it each answer (the ports themselves are tested
// against a real registry in test/facts and a real kube-apiserver in test/e2e/credentials).
import t from 'tap';
import { fullText } from '../helpers/image-world.js';
import { findingParts, formatWarning, MAX_WARNING_CHARS } from '../../src/admission/verdict.js';
import { imageExists } from '../../src/checks/image-exists.js';
import type { CheckPorts, CredentialCandidate, ImageLookup, LookupOptions, NodeImagePresence, PullSecretsQuery, PullSecretsView } from '../../src/checks/ports.js';
import type { CheckInput, Finding } from '../../src/checks/types.js';
import { parseReference } from '../../src/image/reference.js';
import { deploymentObject, inputFor, podObject } from '../helpers/workloads.js';

const REG = 'registry.example.com';
const candidate = (name: string, key = REG): CredentialCandidate => ({ source: `secret default/${name}`, key, credential: { username: 'u', password: 'p' }, id: `cred:${name}` });

function view(partial: Partial<PullSecretsView> = {}, candidates: CredentialCandidate[] = []): PullSecretsView {
  return { known: true, from: 'pod', names: [], missing: [], ignored: [], invalid: [], credentialsFor: () => candidates, ...partial };
}

interface Seen {
  query?: PullSecretsQuery;
  lookupOpts?: LookupOptions;
}

function ports(answer: ImageLookup, v?: PullSecretsView, presence?: NodeImagePresence, seen: Seen = {}): CheckPorts {
  return {
    images: {
      lookup: async (_ref, _signal, opts) => {
        seen.lookupOpts = opts;
        return answer;
      },
    },
    ...(v
      ? {
          pullSecrets: {
            forWorkload: async (q) => {
              seen.query = q;
              return v;
            },
          },
        }
      : {}),
    ...(presence ? { nodeImages: { presence: async () => presence } } : {}),
  };
}

function pod(image: string, extra: Record<string, unknown> = {}, container: Record<string, unknown> = {}): CheckInput {
  return { ...inputFor('Pod', podObject([{ name: 'web', image, ...container }], extra)), image: parseReference(image) };
}

const run = (input: CheckInput, p: CheckPorts) => imageExists.run(input, p) as Promise<Finding[]>;
const refused: ImageLookup = { status: 'unauthorized', registry: REG, credentialsOnNodes: false, suggestions: [], detail: 'insufficient_scope: authorization failed' };

t.test('the pod credentials are handed to the lookup in the keyring order', async (t) => {
  const seen: Seen = {};
  const cands = [candidate('a'), candidate('b')];
  await run(pod(`${REG}/app:1`, { imagePullSecrets: [{ name: 'a' }, { name: 'b' }] }), ports({ status: 'found', registry: REG }, view({ names: ['a', 'b'] }, cands), undefined, seen));
  t.same(seen.query, { kind: 'Pod', namespace: 'default', imagePullSecrets: ['a', 'b'] });
  t.same(seen.lookupOpts, { credentials: cands });
});

t.test('a template asks with its service account', async (t) => {
  const seen: Seen = {};
  const input = { ...inputFor('Deployment', deploymentObject([{ name: 'web', image: `${REG}/app:1` }], { serviceAccountName: 'builder' })), image: parseReference(`${REG}/app:1`) };
  await run(input, ports({ status: 'found', registry: REG }, view({ from: 'service-account', serviceAccount: 'builder' }), undefined, seen));
  t.same(seen.query, { kind: 'Deployment', namespace: 'default', imagePullSecrets: [], serviceAccountName: 'builder' });
  t.same(seen.lookupOpts, {}, 'no candidates: anonymous');
});

t.test('found with a credential: nothing to say', async (t) => {
  t.same(await run(pod(`${REG}/app:1`), ports({ status: 'found', registry: REG, credential: { source: 'secret default/a', key: REG } }, view({ names: ['a'] }, [candidate('a')]))), []);
});

t.test('a missing secret: the kubelet event text, as a warning', async (t) => {
  const found = await run(pod(`${REG}/app:1`, { imagePullSecrets: [{ name: 'gone' }] }), ports({ status: 'found', registry: REG }, view({ names: ['gone'], missing: ['gone'] })));
  t.equal(found.length, 1);
  t.equal(found[0]!.certainty, 'likely');
  t.equal(
    found[0]!.message,
    'missing pull secret in namespace default; kubelet: "Unable to retrieve some image pull secrets (gone); attempting to pull the image may not succeed."; fix: create it',
  );
  const refusedToo = await run(pod(`${REG}/app:1`, { imagePullSecrets: [{ name: 'gone' }] }), ports(refused, view({ names: ['gone'], missing: ['gone'] })));
  t.same(
    refusedToo.map((f) => f.certainty),
    ['likely', 'likely'],
    'the pull will fail, but creating the secret fixes it: a warning, not a deny',
  );
});

t.test('a secret of the wrong type or unparsable: a warning naming it', async (t) => {
  const v = view({ names: ['opaque', 'broken'], ignored: [{ name: 'opaque', reason: 'it is of type "Opaque", not kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg' }], invalid: [{ name: 'broken', reason: '.dockerconfigjson auths["r"].auth is not valid base64' }] });
  const f = await run(pod(`${REG}/app:1`, { imagePullSecrets: [{ name: 'opaque' }, { name: 'broken' }] }), ports({ status: 'found', registry: REG }, v));
  t.same(f.map((x) => x.certainty), ['likely', 'likely']);
  t.match(f[0]!.message, 'pull secret "opaque" is ignored by the kubelet: it is of type "Opaque"');
  t.match(f[1]!.message, 'pull secret "broken" cannot be parsed (.dockerconfigjson auths["r"].auth is not valid base64): the kubelet fails this pod\'s pulls with that error');
});

t.test('secret findings are reported once per workload, by the first container', async (t) => {
  const object = podObject([
    { name: 'one', image: `${REG}/a:1` },
    { name: 'two', image: `${REG}/b:1` },
  ], { imagePullSecrets: [{ name: 'gone' }] });
  const p = ports({ status: 'found', registry: REG }, view({ names: ['gone'], missing: ['gone'] }));
  const first = await run({ ...inputFor('Pod', object, 0), image: parseReference(`${REG}/a:1`) }, p);
  const second = await run({ ...inputFor('Pod', object, 1), image: parseReference(`${REG}/b:1`) }, p);
  t.equal(first.length, 1);
  t.equal(second.length, 0);
});

t.test('no credential matches a registry that demands auth: deny naming the registry and the secrets', async (t) => {
  const [f] = await run(pod(`${REG}/app:1`, { imagePullSecrets: [{ name: 'quay' }, { name: 'hub' }] }), ports(refused, view({ names: ['quay', 'hub'] })));
  t.equal(f!.certainty, 'certain');
  t.equal(
    fullText(f!),
    `image "${REG}/app:1": ${REG} requires authorization and none of pull secrets "quay", "hub" has credentials for it, so the node pulls anonymously and fails with "pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed" (ErrImagePull, then ImagePullBackOff); fix: add an auths entry for ${REG} to a pull secret`,
  );
});

t.test("a template whose service account has no pull secrets: deny, naming the account", async (t) => {
  const input = { ...inputFor('Deployment', deploymentObject([{ name: 'web', image: `${REG}/app:1` }])), image: parseReference(`${REG}/app:1`) };
  const [f] = await run(input, ports(refused, view({ from: 'service-account', serviceAccount: 'default' })));
  t.equal(f!.certainty, 'certain');
  t.match(fullText(f!), `pull access denied, repository does not exist or may require authorization" (${REG} refused anonymous access and service account "default", which has no pull secrets)`);
});

t.test('credentials present but rejected: deny naming the secret and key', async (t) => {
  const answer: ImageLookup = { ...refused, rejected: [{ source: 'secret default/regcred', key: 'https://registry.example.com' }] } as ImageLookup;
  const [f] = await run(pod(`${REG}/app:1`, { imagePullSecrets: [{ name: 'regcred' }] }), ports(answer, view({ names: ['regcred'] }, [candidate('regcred')])));
  t.equal(f!.certainty, 'certain');
  t.match(fullText(f!), `credentials in secret default/regcred (key "https://registry.example.com") were rejected by ${REG}`);
  t.match(fullText(f!), 'pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed');
  const two: ImageLookup = { ...refused, rejected: [{ source: 'secret default/a', key: REG }, { source: 'secret default/b', key: REG }] } as ImageLookup;
  const [g] = await run(pod(`${REG}/app:1`), ports(two, view({ names: ['a', 'b'] }, [candidate('a'), candidate('b')])));
  t.match(g!.message, `credentials in secret default/a (key "${REG}") and secret default/b (key "${REG}") were all rejected by ${REG}`);
});

t.test('credentials on the nodes: rejected or missing pull secrets stay warnings', async (t) => {
  const answer: ImageLookup = { status: 'unauthorized', registry: '1.dkr.ecr.eu-west-1.amazonaws.com', credentialsOnNodes: true, suggestions: [], rejected: [{ source: 'secret default/a', key: '*.dkr.ecr.*.amazonaws.com' }] };
  const [f] = await run(pod('1.dkr.ecr.eu-west-1.amazonaws.com/app:1'), ports(answer, view({ names: ['a'] }, [candidate('a')])));
  t.equal(f!.certainty, 'unverified');
  t.equal(fullText(f!), 'could not verify the image: 1.dkr.ecr.eu-west-1.amazonaws.com needs credentials that live on the nodes (credential provider); secret default/a rejected; fix: make sure the nodes can pull it');
});

t.test('a not-found seen with a credential names it', async (t) => {
  const [f] = await run(pod(`${REG}/app:9`), ports({ status: 'not-found', registry: REG, what: 'tag', suggestions: ['1'], source: 'registry', credential: { source: 'secret default/a', key: REG } }, view({ names: ['a'] })));
  t.equal(f!.certainty, 'certain');
  t.match(fullText(f!), `image "${REG}/app:9" not found: tag "9" does not exist;`);
  t.equal(f!.detail, `asked with secret default/a (key "${REG}")`, 'the credential used is in the detail');
});

t.test('node cache: IfNotPresent and some nodes hold the image -> warning with the count', async (t) => {
  const missing: ImageLookup = { status: 'not-found', registry: REG, what: 'tag', suggestions: [], source: 'registry' };
  const [f] = await run(pod(`${REG}/app:1`), ports(missing, undefined, { nodes: 10, withImage: 3 }));
  t.equal(f!.certainty, 'likely');
  t.equal(fullText(f!), `not in ${REG}, but present on 3 of 10 nodes (IfNotPresent: it starts there); any other node will fail with ErrImagePull; fix: push it to ${REG}`);
  const [always] = await run(pod(`${REG}/app:1`, {}, { imagePullPolicy: 'Always' }), ports(missing, undefined, { nodes: 10, withImage: 3 }));
  t.equal(always!.certainty, 'certain', 'Always pulls anyway');
  const [latest] = await run(pod(`${REG}/app`), ports(missing, undefined, { nodes: 10, withImage: 3 }));
  t.equal(latest!.certainty, 'certain', ':latest defaults to Always');
  const digest = `sha256:${'b'.repeat(64)}`;
  const [byDigest] = await run(pod(`${REG}/app@${digest}`), ports({ ...missing, what: 'manifest' }, undefined, { nodes: 4, withImage: 1 }));
  t.equal(byDigest!.certainty, 'likely', 'a digest defaults to IfNotPresent');
  t.match(byDigest!.message, 'present on 1 of 4 nodes');
  const [none] = await run(pod(`${REG}/app:1`), ports(missing, undefined, { nodes: 10, withImage: 0 }));
  t.equal(none!.certainty, 'certain', 'no node has it: deny');
});

t.test('imagePullPolicy Never: only a registry miss is worth a warning', async (t) => {
  const never = { imagePullPolicy: 'Never' };
  t.same(await run(pod(`${REG}/app:1`, {}, never), ports(refused, view())), [], 'auth does not matter: the node never pulls');
  t.same(await run(pod(`${REG}/app:1`, {}, never), ports({ status: 'rate-limited', registry: REG }, view())), []);
  t.same(await run(pod(`${REG}/app:1`, {}, never), ports({ status: 'unreachable', registry: REG, reason: 'x' }, view())), []);
  const [f] = await run(pod(`${REG}/app:1`, {}, never), ports({ status: 'not-found', registry: REG, what: 'tag', suggestions: [], source: 'registry' }, view(), { nodes: 5, withImage: 2 }));
  t.equal(f!.certainty, 'likely');
  t.equal(fullText(f!), `not in ${REG} and imagePullPolicy is Never: it starts only where preloaded (present on 2 of 5 nodes), elsewhere ErrImageNeverPull; fix: preload it on every node, or push it`);
});

t.test('quota: remaining under the threshold or under the replicas -> warning with the numbers', async (t) => {
  const low: ImageLookup = { status: 'found', registry: 'docker.io', rateLimit: { limit: 100, remaining: 3, windowS: 21600, warnBelow: 10 } };
  const [f] = await run(pod('nginx:1.14.2'), ports(low));
  t.equal(f!.certainty, 'likely');
  t.equal(fullText(f!), 'docker.io has 3 pulls left of 100 per 6 h, this rollout needs up to 1: pulls may fail with 429 toomanyrequests (ErrImagePull, then ImagePullBackOff); fix: authenticate the pulls or use a registry mirror');
  const plenty: ImageLookup = { status: 'found', registry: 'docker.io', rateLimit: { limit: 100, remaining: 50, windowS: 21600, warnBelow: 10 } };
  t.same(await run(pod('nginx:1.14.2'), ports(plenty)), []);
  const input = { ...pod('nginx:1.14.2'), workload: { ...pod('nginx:1.14.2').workload, replicas: 80 } } as CheckInput;
  const [g] = await run(input, ports(plenty));
  t.match(g!.message, 'has 50 pulls left of 100 per 6 h, this rollout needs up to 80');
});

t.test('without cluster access the old judgement stands', async (t) => {
  const [f] = await run(pod(`${REG}/app:1`, { imagePullSecrets: [{ name: 'x' }] }), ports(refused, view({ known: false, reason: 'no access' })));
  t.equal(f!.certainty, 'likely');
  t.match(fullText(f!), 'unless pull secret "x" grant it');
});

t.test("every warning fits the API server's 256-character cut, with a long image name", async (t) => {
  const image = `registry.example.com/some-team/some-rather-long-service-name:1.2.3-build.456`;
  const missing = ['gone-one', 'gone-two'];
  const answers: ImageLookup[] = [
    { ...refused, rejected: [{ source: 'secret some-namespace/regcred', key: REG }] } as ImageLookup,
    refused,
    { status: 'rate-limited', registry: REG, retryAfterMs: 60_000, until: Date.now() + 60_000 },
    { status: 'found', registry: REG, rateLimit: { limit: 100, remaining: 3, windowS: 21600, warnBelow: 10 } },
    { status: 'not-found', registry: REG, what: 'tag', suggestions: [], source: 'registry' },
    { status: 'unauthorized', registry: REG, credentialsOnNodes: true, suggestions: [], rejected: [{ source: 'secret some-namespace/regcred', key: REG }] },
  ];
  const v = view({ names: [...missing, 'opaque', 'broken'], missing, ignored: [{ name: 'opaque', reason: 'it is of type "Opaque", not kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg' }], invalid: [{ name: 'broken', reason: '.dockerconfigjson auths["registry.example.com:5000"].auth unable to parse auth field, must be formatted as base64(username:password)' }] });
  for (const answer of answers) {
    for (const container of [{}, { imagePullPolicy: 'Never' }]) {
      const findings = await run(pod(image, { imagePullSecrets: missing.map((name) => ({ name })) }, { name: 'app-container', ...container }), ports(answer, v, { nodes: 120, withImage: 30 }));
      for (const f of findings.filter((x) => x.certainty !== 'certain')) {
        const line = formatWarning(f);
        t.ok(Array.from(line).length <= MAX_WARNING_CHARS, `${line.length} <= ${MAX_WARNING_CHARS}: ${line}`);
        const fix = findingParts(f).fix;
        if (fix) t.ok(line.endsWith(`; fix: ${fix}`), `the fix is kept whole: ${line}`);
      }
    }
  }
});
