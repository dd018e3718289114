import t from 'tap';
import { hostMatches } from '../../src/util/host-glob.js';

// kubelet keyring.go URLsMatch: same label count, per-label glob, port equal.
const rows: Array<[string, string, boolean]> = [
  ['*.gcr.io', 'eu.gcr.io', true],
  ['*.gcr.io', 'gcr.io', false],
  ['*.gcr.io', 'a.b.gcr.io', false],
  ['gcr.io', 'gcr.io', true],
  ['*.dkr.ecr.*.amazonaws.com', '123456789012.dkr.ecr.eu-west-1.amazonaws.com', true],
  ['*.dkr.ecr.*.amazonaws.com', '123456789012.dkr.ecr.eu-west-1.amazonaws.com.cn', false],
  ['*.azurecr.io', 'MyReg.AzureCR.io', true],
  ['registry.local:5000', 'registry.local:5000', true],
  ['registry.local:5000', 'registry.local', false],
  ['registry.local', 'registry.local:5000', false],
  ['reg-*.example.com', 'reg-eu.example.com', true],
  ['reg-*.example.com', 'other.example.com', false],
  ['a.b', 'a.b.c', false],
];
for (const [pattern, host, expected] of rows) {
  t.equal(hostMatches(pattern, host), expected, `${pattern} ${expected ? 'matches' : 'does not match'} ${host}`);
}
