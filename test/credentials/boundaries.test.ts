// Dependency direction, read from the sources (issue 4 and after): credentials/ is pure (Node's
// crypto only, nothing of ours outside it); registry/ never reaches admission, checks or kube;
// checks/ and facts/ never import undici, Fastify or the Kubernetes client; only kube/ does.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const SRC = new URL('../../src/', import.meta.url).pathname;

function imports(dir: string): Array<{ file: string; spec: string }> {
  return readdirSync(join(SRC, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) => {
      const text = readFileSync(join(SRC, dir, f), 'utf8');
      return [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => ({ file: `${dir}/${f}`, spec: m[1]! }));
    });
}

t.test('the import reader sees imports', async (t) => {
  t.ok(imports('facts').some(({ spec }) => spec === '../checks/ports.js'));
  t.ok(imports('kube').some(({ spec }) => spec === '@kubernetes/client-node'));
});

t.test('credentials/ imports only itself and node:crypto', async (t) => {
  const bad = imports('credentials').filter(({ spec }) => !(spec.startsWith('./') || spec === 'node:crypto'));
  t.same(bad, []);
});

t.test('registry/ imports nothing of admission, checks, kube, facts or credentials', async (t) => {
  const bad = imports('registry').filter(({ spec }) => /\.\.\/(admission|checks|kube|facts|credentials|http)\//.test(spec) || /fastify|client-node/.test(spec));
  t.same(bad, []);
});

t.test('checks/ and facts/ never import undici, Fastify or the Kubernetes client, nor kube/', async (t) => {
  const bad = [...imports('checks'), ...imports('facts')].filter(({ spec }) => /^(undici|fastify|@kubernetes\/client-node)$/.test(spec) || /\.\.\/kube\//.test(spec));
  t.same(bad, []);
});

t.test('only kube/ imports @kubernetes/client-node', async (t) => {
  const dirs = readdirSync(SRC, { withFileTypes: true }).filter((d) => d.isDirectory() && d.name !== 'kube').map((d) => d.name);
  const bad = dirs.flatMap((d) => imports(d)).filter(({ spec }) => spec.startsWith('@kubernetes/client-node'));
  t.same(bad, []);
});

t.test('audit/ (issue 13) reaches the cluster only through what serve and the CLI hand it: no client, no kube/, no Fastify', async (t) => {
  const bad = imports('audit').filter(({ spec }) => /^(undici|fastify|@kubernetes\/client-node)$/.test(spec) || /\.\.\/(kube|http|cli)\//.test(spec));
  t.same(bad, []);
  t.ok(imports('audit').some(({ spec }) => spec === '../registry/client.js'), 'the reader sees audit/ imports');
});

t.test('admission/ knows nothing of HTTP or the Kubernetes client', async (t) => {
  const bad = imports('admission').filter(({ spec }) => /^(undici|fastify|@kubernetes\/client-node)$/.test(spec) || /\.\.\/(kube|http|cli)\//.test(spec));
  t.same(bad, []);
});
