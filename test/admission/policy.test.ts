import t from 'tap';
import { modeFor, skippedChecks } from '../../src/admission/policy.js';
import { loadConfig } from '../../src/config/load.js';

const cfg = loadConfig({ document: { admission: { exemptNamespaces: ['kube-system', 'backoff-guard'] } } }).admission;
const label = 'backoff-guard.io/mode';

const rows: Array<[string, string | undefined, Record<string, string> | undefined, string, string]> = [
  ['no label: the default mode', 'apps', {}, 'enforce', 'default'],
  ['labels unknown (no cluster): the default mode', 'apps', undefined, 'enforce', 'default'],
  ['label warn', 'apps', { [label]: 'warn' }, 'warn', 'namespace-label'],
  ['label off', 'apps', { [label]: 'off' }, 'off', 'namespace-label'],
  ['label in capitals', 'apps', { [label]: 'Enforce' }, 'enforce', 'namespace-label'],
  ['an invalid label keeps the default', 'apps', { [label]: 'strict' }, 'enforce', 'invalid-label'],
  ['kube-system is exempt whatever its labels', 'kube-system', { [label]: 'enforce' }, 'off', 'exempt-namespace'],
  ["the webhook's own namespace is exempt", 'backoff-guard', {}, 'off', 'exempt-namespace'],
];
for (const [name, ns, labels, mode, source] of rows) {
  t.test(name, async (t) => {
    t.same(modeFor(ns, labels, cfg), { mode, source });
  });
}

t.test('the skip annotation lists check ids, or all of them', async (t) => {
  const ids = ['image-reference', 'image-exists', 'command-sanity'];
  t.same([...skippedChecks({}, cfg, ids)], []);
  t.same([...skippedChecks({ 'backoff-guard.io/skip-checks': 'image-exists, command-sanity' }, cfg, ids)], ['image-exists', 'command-sanity']);
  t.same([...skippedChecks({ 'backoff-guard.io/skip-checks': 'Image-Exists' }, cfg, ids)], ['image-exists']);
  t.same([...skippedChecks({ 'backoff-guard.io/skip-checks': '*' }, cfg, ids)], ids);
});
