// `backoff-guard check --docker-config FILE` against a real htpasswd registry: the file's
// credentials are matched to each image by the kubelet's keyring rules and used for the lookup.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runCli } from '../helpers/cli.js';
import { pushImage } from '../helpers/registry-fixtures.js';
import { startRegistry } from '../helpers/registry.js';

t.setTimeout(120_000);

const PASSWORD = 'ci-password-31337';
const reg = await startRegistry({ auth: 'htpasswd', users: { ci: PASSWORD } });
t.teardown(() => reg.stop());
await pushImage(reg, { repo: 'private/app', tag: '1.0' });
const dir = mkdtempSync(join(tmpdir(), 'bg-cli-dockercfg-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const config = join(dir, 'backoff-guard.yaml');
writeFileSync(config, stringify({ registry: { hosts: { [reg.host]: { caFile: reg.caFile, allowPrivateNetwork: true } } } }));
const manifest = join(dir, 'pod.yaml');
writeFileSync(manifest, stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'private' }, spec: { containers: [{ name: 'app', image: `${reg.host}/private/app:1.0` }] } }));
const auth = (user: string, pw: string) => Buffer.from(`${user}:${pw}`).toString('base64');
function dockerConfig(name: string, auths: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({ auths, ...extra }));
  return file;
}

t.test('without credentials: pull access denied, exit 1', async (t) => {
  const r = await runCli(['check', '--config', config, '-f', manifest]);
  t.equal(r.code, 1, r.stdout + r.stderr);
  t.match(r.stdout, 'pull access denied, repository does not exist or may require authorization');
});

t.test('a docker config whose entry matches: checked with it, passes', async (t) => {
  const file = dockerConfig('good.json', { [`https://${reg.host}/v2/`]: { auth: auth('ci', PASSWORD) } }, { credsStore: 'desktop' });
  const r = await runCli(['check', '--config', config, '--docker-config', file, '-f', manifest]);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, '1 object checked: 0 would be denied, 0 warnings');
  t.match(r.stderr, 'credsStore "desktop" is not used (the kubelet reads auths only)');
});

t.test('rejected credentials are named, the password is not', async (t) => {
  const file = dockerConfig('bad.json', { [reg.host]: { username: 'ci', password: 'wrong-pass-1' } });
  const r = await runCli(['check', '--config', config, '--docker-config', file, '-f', manifest]);
  t.equal(r.code, 1);
  t.match(r.stdout, `credentials in docker config ${file} (key "${reg.host}") were rejected by ${reg.host}`);
  t.notMatch(r.stdout + r.stderr, /wrong-pass-1/);
});

t.test('an entry for another registry does not match: none of the credentials applies', async (t) => {
  const file = dockerConfig('other.json', { 'quay.io': { auth: auth('ci', PASSWORD) } });
  const r = await runCli(['check', '--config', config, '--docker-config', file, '-f', manifest]);
  t.equal(r.code, 1);
  t.match(r.stdout, `${reg.host} requires authorization and none of docker config ${file} has credentials for it`);
});

t.test('an unreadable or invalid docker config exits 2', async (t) => {
  const missing = await runCli(['check', '--docker-config', join(dir, 'nope.json'), '-f', manifest]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /--docker-config .*nope\.json cannot be read \(ENOENT\)/);
  const bad = join(dir, 'bad-auth.json');
  writeFileSync(bad, JSON.stringify({ auths: { 'r.example.com': { auth: Buffer.from('no-colon-secret').toString('base64') } } }));
  const invalid = await runCli(['check', '--docker-config', bad, '-f', manifest]);
  t.equal(invalid.code, 2);
  t.match(invalid.stderr, 'auths["r.example.com"].auth unable to parse auth field, must be formatted as base64(username:password)');
  t.notMatch(invalid.stderr, /no-colon-secret/);
});

t.test("registry.nodeDockerConfig: a docker config standing for the nodes' credentials", async (t) => {
  const nodeConfig = dockerConfig('node.json', { [reg.host]: { auth: auth('ci', PASSWORD) } });
  const withNodes = join(dir, 'with-nodes.yaml');
  writeFileSync(withNodes, stringify({ registry: { nodeDockerConfig: nodeConfig, hosts: { [reg.host]: { caFile: reg.caFile, allowPrivateNetwork: true } } } }));
  const r = await runCli(['check', '--config', withNodes, '-f', manifest]);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, '0 would be denied, 0 warnings');
  const staleNodes = dockerConfig('node-stale.json', { [reg.host]: { auth: auth('ci', 'old-node-pass') } });
  writeFileSync(withNodes, stringify({ registry: { nodeDockerConfig: staleNodes, hosts: { [reg.host]: { caFile: reg.caFile, allowPrivateNetwork: true } } } }));
  const stale = await runCli(['check', '--config', withNodes, '-f', manifest]);
  t.equal(stale.code, 0, 'the pods\' own secrets are not known to check: a warning, not a deny');
  t.match(stale.stdout, `credentials in node credentials ${staleNodes} were rejected by ${reg.host}`);
  writeFileSync(withNodes, stringify({ registry: { nodeDockerConfig: join(dir, 'absent.json') } }));
  const absent = await runCli(['check', '--config', withNodes, '-f', manifest]);
  t.equal(absent.code, 2);
  t.match(absent.stderr, 'invalid config: registry.nodeDockerConfig cannot be read');
});
