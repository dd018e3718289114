// Which secrets a workload pulls with and what the keyring makes of them (ClusterPullSecrets),
// over in-memory readers; the readers themselves run against a real kube-apiserver in
// test/e2e/credentials.test.ts.
import t from 'tap';
import { Keyring } from '../../src/credentials/keyring.js';
import { ClusterPullSecrets, DockerConfigPullSecrets, type SecretReadResult, type ServiceAccountReadResult } from '../../src/facts/pull-secrets.js';
import { parseReference } from '../../src/image/reference.js';

const signal = new AbortController().signal;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const dockerconfigjson = (auths: Record<string, string>): SecretReadResult => ({
  status: 'found',
  type: 'kubernetes.io/dockerconfigjson',
  data: { '.dockerconfigjson': Buffer.from(JSON.stringify({ auths: Object.fromEntries(Object.entries(auths).map(([k, up]) => [k, { auth: b64(up) }])) })) },
});

const secrets: Record<string, SecretReadResult> = {
  'app/quay': dockerconfigjson({ 'quay.io': 'q:q-pw' }),
  'app/corp': dockerconfigjson({ 'registry.corp.example': 'c:c-pw', 'registry.corp.example/team': 't:t-pw' }),
  'app/opaque': { status: 'found', type: 'Opaque', data: { password: Buffer.from('x') } },
  'app/broken': { status: 'found', type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': Buffer.from('{"auths": {"r": {"auth": "%%%"}}}') } },
  'locked/any': { status: 'unknown', reason: 'forbidden (the webhook needs get on this resource)' },
};
const accounts: Record<string, ServiceAccountReadResult> = {
  'app/default': { status: 'found', imagePullSecrets: ['quay'] },
  'app/builder': { status: 'found', imagePullSecrets: ['corp', 'gone'] },
  'app/bare': { status: 'found', imagePullSecrets: [] },
};
const reads: string[] = [];
const sources = {
  readSecret: async (ns: string, name: string) => (reads.push(`secret ${ns}/${name}`), secrets[`${ns}/${name}`] ?? { status: 'missing' as const }),
  readServiceAccount: async (ns: string, name: string) => (reads.push(`sa ${ns}/${name}`), accounts[`${ns}/${name}`] ?? { status: 'missing' as const }),
};
const node = new Keyring();
node.add({ kind: 'node', name: 'config.json' }, [{ key: 'registry.corp.example', credential: { username: 'n', password: 'n-pw' } }]);
const ps = new ClusterPullSecrets(sources, { nodeKeyring: node });
const users = (v: Awaited<ReturnType<typeof ps.forWorkload>>, image: string) => v.credentialsFor(parseReference(image)).map((c) => `${c.source}#${c.key}=${c.credential.username}`);

t.test('a Pod: its imagePullSecrets as given, never the service account', async (t) => {
  reads.length = 0;
  const v = await ps.forWorkload({ kind: 'Pod', namespace: 'app', imagePullSecrets: ['corp', 'quay'], serviceAccountName: 'builder' }, signal);
  t.match(v, { known: true, from: 'pod', names: ['corp', 'quay'], missing: [], ignored: [], invalid: [] });
  t.same(reads, ['secret app/corp', 'secret app/quay']);
  t.same(users(v, 'registry.corp.example/team/app:1'), [
    'secret app/corp#registry.corp.example/team=t',
    'secret app/corp#registry.corp.example=c',
    'node credentials config.json#registry.corp.example=n',
  ]);
  t.same(users(v, 'quay.io/x/y:1'), ['secret app/quay#quay.io=q']);
  t.same(users(v, 'ghcr.io/x/y:1'), []);
});

t.test('a template with its own secrets uses them', async (t) => {
  const v = await ps.forWorkload({ kind: 'Deployment', namespace: 'app', imagePullSecrets: ['quay'], serviceAccountName: 'builder' }, signal);
  t.match(v, { from: 'template', names: ['quay'] });
});

t.test('a template without secrets: its service account, default when unset', async (t) => {
  const named = await ps.forWorkload({ kind: 'Deployment', namespace: 'app', imagePullSecrets: [], serviceAccountName: 'builder' }, signal);
  t.match(named, { known: true, from: 'service-account', serviceAccount: 'builder', names: ['corp', 'gone'], missing: ['gone'] });
  const unset = await ps.forWorkload({ kind: 'StatefulSet', namespace: 'app', imagePullSecrets: [] }, signal);
  t.match(unset, { from: 'service-account', serviceAccount: 'default', names: ['quay'] });
  const bare = await ps.forWorkload({ kind: 'Job', namespace: 'app', imagePullSecrets: [], serviceAccountName: 'bare' }, signal);
  t.match(bare, { known: true, from: 'service-account', names: [] });
  const noSa = await ps.forWorkload({ kind: 'Job', namespace: 'app', imagePullSecrets: [], serviceAccountName: 'nobody' }, signal);
  t.match(noSa, { known: true, from: 'service-account', serviceAccount: 'nobody', names: [] });
});

t.test('missing, wrong type and unparsable secrets are reported, the others still used', async (t) => {
  const v = await ps.forWorkload({ kind: 'Pod', namespace: 'app', imagePullSecrets: ['gone', 'opaque', 'broken', 'quay'] }, signal);
  t.same(v.missing, ['gone']);
  t.same(v.ignored, [{ name: 'opaque', reason: 'it is of type "Opaque", not kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg' }]);
  t.same(v.invalid, [{ name: 'broken', reason: '.dockerconfigjson auths["r"].auth is not valid base64' }]);
  t.same(users(v, 'quay.io/a/b:1'), ['secret app/quay#quay.io=q']);
});

t.test('a secret that cannot be read makes the view unknown (judged as without access)', async (t) => {
  const v = await ps.forWorkload({ kind: 'Pod', namespace: 'locked', imagePullSecrets: ['any'] }, signal);
  t.match(v, { known: false, reason: 'secret locked/any: forbidden (the webhook needs get on this resource)' });
  t.equal(v.lasting, undefined, 'a refused read is passing: not lasting');
  t.same(users(v, 'registry.corp.example/a:1'), ['node credentials config.json#registry.corp.example=n'], "the nodes' credentials still apply");
});

t.test('no cluster access: unknown, with the reason', async (t) => {
  const none = new ClusterPullSecrets(undefined, { unavailableReason: 'no in-cluster service account and no kubeconfig configured' });
  const v = await none.forWorkload({ kind: 'Pod', namespace: 'app', imagePullSecrets: ['quay'] }, signal);
  t.match(v, { known: false, reason: 'no in-cluster service account and no kubeconfig configured', names: ['quay'] });
  t.equal(v.lasting, true, 'it will not change while the process lives');
  t.same(v.credentialsFor(parseReference('quay.io/a/b:1')), []);
});

t.test('check --docker-config: the file stands for the credentials', async (t) => {
  const k = new Keyring();
  k.add({ kind: 'file', path: 'ci/config.json' }, [{ key: 'https://index.docker.io/v1/', credential: { username: 'ci', password: 'ci-pw' } }]);
  const v = await new DockerConfigPullSecrets('ci/config.json', k).forWorkload();
  t.match(v, { known: true, from: 'docker-config', names: ['ci/config.json'] });
  t.same(
    v.credentialsFor(parseReference('nginx:1')).map((c) => `${c.source}#${c.key}`),
    ['docker config ci/config.json#https://index.docker.io/v1/'],
  );
});
