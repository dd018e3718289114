import t from 'tap';
import { fullText } from '../helpers/image-world.js';
import { imageReference } from '../../src/checks/image-reference.js';
import type { CheckInput, Finding } from '../../src/checks/types.js';
import { InvalidReferenceError, parseReference } from '../../src/image/reference.js';
import { deploymentObject, inputFor, podObject } from '../helpers/workloads.js';

function input(image: string | undefined, kind = 'Pod'): CheckInput {
  const obj = kind === 'Pod' ? podObject([{ name: 'web', image }]) : deploymentObject([{ name: 'web', image }]);
  const base = inputFor(kind, obj);
  if (image === undefined || image === '') return base;
  try {
    return { ...base, image: parseReference(image) };
  } catch (err) {
    return { ...base, imageError: err as InvalidReferenceError };
  }
}
const run = (i: CheckInput) => imageReference.run(i, {}) as Finding[];

t.test('a valid reference passes', async (t) => {
  t.same(run(input('nginx:1.14.2')), []);
  t.same(run(input('quay.io/prometheus/node-exporter:v1.8.0')), []);
});

t.test('an upper-case repository is InvalidImageName, with the lower-case fix', async (t) => {
  const [f] = run(input('NGINX:1.14.2'));
  t.equal(f!.certainty, 'certain');
  t.match(fullText(f!), /image "NGINX:1\.14\.2" is not a valid reference \(invalid reference format: repository name .*must be lowercase\)/);
  t.match(fullText(f!), 'InvalidImageName');
  t.match(fullText(f!), 'fix: image: nginx:1.14.2');
});

t.test('upper case in a registry host is kept in the fix', async (t) => {
  const [f] = run(input('registry.example.com/Team/App:1'));
  t.match(fullText(f!), 'fix: image: registry.example.com/team/app:1');
});

t.test('a reference with no simple fix explains the form', async (t) => {
  const [f] = run(input('nginx:1.0:2'));
  t.equal(f!.certainty, 'certain');
  t.match(fullText(f!), 'write it as [registry/]repository[:tag][@digest]');
});

t.test('a template without an image can never create pods', async (t) => {
  const [f] = run(input(undefined, 'Deployment'));
  t.equal(f!.certainty, 'certain');
  t.match(fullText(f!), 'has no image');
});
