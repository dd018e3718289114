// The check is a pure rule over ImageFacts answers: these tests hand it each kind of answer
// through the port (the registry behind the port is tested against a real registry in test/facts).
import t from 'tap';
import { fullText } from '../helpers/image-world.js';
import { imageExists } from '../../src/checks/image-exists.js';
import type { CheckPorts, ImageLookup } from '../../src/checks/ports.js';
import type { CheckInput, Finding } from '../../src/checks/types.js';
import { parseReference } from '../../src/image/reference.js';
import { deploymentObject, inputFor, podObject } from '../helpers/workloads.js';

const portsAnswering = (answer: ImageLookup): CheckPorts => ({ images: { lookup: async () => answer } });

function podInput(image: string, extra: Record<string, unknown> = {}, container: Record<string, unknown> = {}): CheckInput {
  const input = inputFor('Pod', podObject([{ name: 'web', image, ...container }], extra));
  return { ...input, image: parseReference(image) };
}

const run = (input: CheckInput, answer: ImageLookup) => imageExists.run(input, portsAnswering(answer)) as Promise<Finding[]>;

t.test('an image the registry has passes', async (t) => {
  t.same(await run(podInput('nginx:1.14.2'), { status: 'found', registry: 'docker.io', digest: 'sha256:abc' }), []);
});

t.test('a missing repository is denied with the runtime words and the closest official image', async (t) => {
  const [f] = await run(podInput('ngiinx:1.14.2'), { status: 'not-found', registry: 'docker.io', what: 'repository', suggestions: ['nginx'], source: 'registry' });
  t.equal(f!.certainty, 'certain');
  t.match(fullText(f!), 'image "ngiinx:1.14.2" not found: the repository does not exist');
  t.match(fullText(f!), 'the pull fails with "failed to resolve reference docker.io/library/ngiinx:1.14.2: not found" (ErrImagePull, then ImagePullBackOff); fix: correct the image name or tag; did you mean "nginx:1.14.2"?');
  t.match(fullText(f!), 'did you mean "nginx:1.14.2"?');
});

t.test('a name outside the Official Images list says so when judged offline', async (t) => {
  const [f] = await run(podInput('ngiinx'), { status: 'not-found', registry: 'docker.io', what: 'repository', suggestions: ['nginx'], source: 'official-images-list' });
  t.match(fullText(f!), 'image "ngiinx" not found: "ngiinx" is not a Docker Official Image, so it cannot exist');
  t.match(fullText(f!), 'did you mean "nginx"?', 'no tag written: none suggested');
});

t.test('a missing tag suggests the closest tags in the same spelling', async (t) => {
  const [f] = await run(podInput('quay.io/team/app:1.14.3'), { status: 'not-found', registry: 'quay.io', what: 'tag', suggestions: ['1.14.2', '1.14'], source: 'registry' });
  t.equal(f!.certainty, 'certain');
  t.match(fullText(f!), 'image "quay.io/team/app:1.14.3" not found: tag "1.14.3" does not exist;');
  t.match(fullText(f!), 'did you mean "quay.io/team/app:1.14.2" or "quay.io/team/app:1.14"?');
});

t.test('a missing digest is denied without a hint', async (t) => {
  const digest = 'sha256:' + 'a'.repeat(64);
  const [f] = await run(podInput(`nginx@${digest}`), { status: 'not-found', registry: 'docker.io', what: 'manifest', suggestions: [], source: 'registry' });
  t.match(fullText(f!), `not found: no manifest has that digest; the pull fails with "failed to resolve reference docker.io/library/nginx@${digest}: not found"`);
  t.match(fullText(f!), 'fix: correct the image name or tag');
});

t.test('imagePullPolicy Never turns a missing image into a warning (the node must have it)', async (t) => {
  const [f] = await run(podInput('team/app:1', {}, { imagePullPolicy: 'Never' }), { status: 'not-found', registry: 'docker.io', what: 'tag', suggestions: [], source: 'registry' });
  t.equal(f!.certainty, 'likely');
  t.match(fullText(f!), 'ErrImageNeverPull');
});

t.test('anonymous access refused: a Pod without pull secrets is denied', async (t) => {
  const [f] = await run(podInput('registry.example.com/private/app:1'), { status: 'unauthorized', registry: 'registry.example.com', credentialsOnNodes: false, suggestions: [] });
  t.equal(f!.certainty, 'certain');
  t.match(fullText(f!), 'pull access denied, repository does not exist or may require authorization');
  t.match(fullText(f!), 'add imagePullSecrets');
});

t.test('anonymous access refused but the pod has pull secrets: a warning naming them', async (t) => {
  const [f] = await run(podInput('registry.example.com/private/app:1', { imagePullSecrets: [{ name: 'regcred' }] }), { status: 'unauthorized', registry: 'registry.example.com', credentialsOnNodes: false, suggestions: [] });
  t.equal(f!.certainty, 'likely');
  t.match(fullText(f!), 'unless pull secret "regcred" grant it');
});

t.test('anonymous access refused for a Deployment: its service account may carry secrets, a warning', async (t) => {
  const input = { ...inputFor('Deployment', deploymentObject([{ name: 'web', image: 'registry.example.com/p/a:1' }], { serviceAccountName: 'builder' })), image: parseReference('registry.example.com/p/a:1') };
  const [f] = await run(input, { status: 'unauthorized', registry: 'registry.example.com', credentialsOnNodes: false, suggestions: [] });
  t.equal(f!.certainty, 'likely');
  t.match(fullText(f!), `the service account "builder"'s pull secrets`);
});

t.test('credentials that live on the nodes: cannot tell', async (t) => {
  const [f] = await run(podInput('123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1'), { status: 'unauthorized', registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', credentialsOnNodes: true, suggestions: [] });
  t.equal(f!.certainty, 'unverified');
  t.match(fullText(f!), 'credentials that live on the nodes');
});

t.test('a rate limit is a likely failure with the wait', async (t) => {
  const [f] = await run(podInput('nginx:1'), { status: 'rate-limited', registry: 'docker.io', retryAfterMs: 15 * 60_000 });
  t.equal(f!.certainty, 'likely');
  t.match(fullText(f!), 'docker.io is rate limiting pulls (429 toomanyrequests): they may fail until about 15 min from now (ErrImagePull, then ImagePullBackOff); fix: authenticate the pulls or use a registry mirror');
  const [g] = await run(podInput('nginx:1'), { status: 'rate-limited', registry: 'docker.io', retryAfterMs: 60_000, until: Date.parse('2026-11-27T12:00:00Z') });
  t.match(g!.message, 'they may fail until 2026-11-27T12:00:00Z');
});

t.test('an unreachable registry cannot tell: allowed unchecked', async (t) => {
  const [f] = await run(podInput('registry.example.com/app:1'), { status: 'unreachable', registry: 'registry.example.com', reason: 'did not answer in time' });
  t.equal(f!.certainty, 'unverified');
  t.equal(fullText(f!), 'could not verify image "registry.example.com/app:1": registry.example.com did not answer in time; allowed unchecked');
});

t.test('an unparsable image is left to image-reference', async (t) => {
  const input = inputFor('Pod', podObject([{ name: 'web', image: 'NGINX' }]));
  t.same(await imageExists.run(input, portsAnswering({ status: 'found', registry: 'x' })), []);
});

t.test('Docker Hub answers a missing library repository with 401: the runtime words are "pull access denied"', async (t) => {
  const [f] = await run(podInput('ngiinx:1.14.2'), { status: 'not-found', registry: 'docker.io', what: 'repository', suggestions: ['nginx'], source: 'registry', accessDenied: true });
  t.equal(f!.certainty, 'certain');
  t.match(fullText(f!), 'the pull fails with "pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed" (ErrImagePull, then ImagePullBackOff)');
  t.match(fullText(f!), 'did you mean "nginx:1.14.2"?');
});
