import t from 'tap';
import { parseManifests } from '../../src/cli/manifests.js';
import { pathSegments } from '../../src/cli/source-positions.js';

t.test('path segments', async (t) => {
  t.same(pathSegments('spec.jobTemplate.spec.template.spec.initContainers[2]'), ['spec', 'jobTemplate', 'spec', 'template', 'spec', 'initContainers', 2]);
});

t.test('positions in JSON, nested Lists and a missing path', async (t) => {
  const json = '{"kind":"Pod","metadata":{"name":"j"},\n "spec":{"containers":[\n   {"name":"a","image":"x"}]}}';
  const [doc] = parseManifests(json, 'p.json', 'p.json').docs;
  t.same(doc!.locate('spec.containers[0]'), { line: 3, column: 4 });
  t.equal(doc!.locate('spec.containers[5]'), undefined);
  const nested = 'kind: List\nitems:\n- kind: List\n  items:\n  - kind: Pod\n    spec:\n      containers:\n      - name: deep\n';
  const r = parseManifests(nested, 'n.yaml', 'n.yaml');
  t.equal(r.docs.length, 1);
  t.same(r.docs[0]!.locate('spec.containers[0]'), { line: 8, column: 9 });
  t.same(r.docs[0]!.position, { line: 5, column: 5 });
});
