import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load.js';

const tmp = mkdtempSync(join(tmpdir(), 'bg-config-'));
const file = (name: string, text: string) => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};

t.test('built-in defaults need no file', async (t) => {
  const c = loadConfig();
  t.equal(c.server.port, 8443);
  t.equal(c.server.bodyLimitBytes, 7 * 1024 * 1024);
  t.equal(c.admission.defaultMode, 'enforce');
  t.equal(c.admission.budgetMs, 3000);
  t.same(c.admission.exemptNamespaces, ['kube-system']);
  t.equal(c.admission.failOpen, true);
  t.ok(Object.isFrozen(c.server.tls), 'the config is frozen');
});

t.test('a YAML file sets values and keeps the other defaults', async (t) => {
  const c = loadConfig({
    file: file('a.yaml', 'server:\n  port: 9443\nregistry:\n  hosts:\n    "127.0.0.1:5000": { caFile: /x/ca.crt, allowPrivateNetwork: true }\n'),
  });
  t.equal(c.server.port, 9443);
  t.equal(c.server.host, '0.0.0.0');
  t.same(c.registry.hosts['127.0.0.1:5000'], { caFile: '/x/ca.crt', allowPrivateNetwork: true });
});

t.test('environment overrides the file', async (t) => {
  const c = loadConfig({
    file: file('b.yaml', 'admission:\n  defaultMode: warn\n'),
    env: { BACKOFF_GUARD_MODE: 'off', BACKOFF_GUARD_PORT: '10443', BACKOFF_GUARD_FAIL_OPEN: 'false', BACKOFF_GUARD_EXEMPT_NAMESPACES: 'kube-system, tools' },
  });
  t.equal(c.admission.defaultMode, 'off');
  t.equal(c.server.port, 10443);
  t.equal(c.admission.failOpen, false);
  t.same(c.admission.exemptNamespaces, ['kube-system', 'tools']);
});

const bad: Array<[string, () => unknown, string, RegExp]> = [
  ['an unknown key is refused by name', () => loadConfig({ document: { server: { prot: 1 } } }), 'server.prot', /server\.prot is not a known setting/],
  ['a wrong type is refused by name', () => loadConfig({ document: { server: { port: 'abc' } } }), 'server.port', /server\.port must be integer/],
  ['a port out of range is refused', () => loadConfig({ document: { server: { port: 70000 } } }), 'server.port', /server\.port must be <= 65535/],
  ['an unknown mode lists the allowed ones', () => loadConfig({ document: { admission: { defaultMode: 'block' } } }), 'admission.defaultMode', /must be one of "enforce", "warn", "off"/],
  ['a registry server must be a URL', () => loadConfig({ document: { registry: { hosts: { 'a.io': { server: 'ftp://x' } } } } }), 'registry.hosts.a.io.server', /registry\.hosts\.a\.io\.server must match/],
  ['an env integer that is not a number names the variable', () => loadConfig({ env: { BACKOFF_GUARD_PORT: 'eighty' } }), 'server.port', /BACKOFF_GUARD_PORT="eighty": server\.port must be an integer/],
  ['an env boolean that is not one names the variable', () => loadConfig({ env: { BACKOFF_GUARD_FAIL_OPEN: 'maybe' } }), 'admission.failOpen', /BACKOFF_GUARD_FAIL_OPEN/],
  ['a top-level list is refused', () => loadConfig({ document: [1, 2] }), '(root)', /must be a mapping/],
];
for (const [name, fn, field, message] of bad) {
  t.test(name, async (t) => {
    const err = t.throws(fn) as ConfigError;
    t.type(err, ConfigError);
    t.equal(err.field, field);
    t.match(err.message, message);
  });
}

t.test('a missing file and broken YAML are clear errors', async (t) => {
  t.throws(() => loadConfig({ file: join(tmp, 'nope.yaml') }), { message: /cannot read config file .*nope\.yaml/ });
  t.throws(() => loadConfig({ file: file('c.yaml', 'server: [\n') }), { message: /is not valid YAML/ });
});
