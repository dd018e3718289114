// The container image installs production dependencies only (`npm ci --omit=dev`). These tests prove
// that this is enough, without a Docker engine:
// 1. every import in the built dist/ is a Node.js builtin, a relative file that exists, or a package
//    of package.json "dependencies" (never a devDependency);
// 2. in a copy of the app laid out like the image (package.json, dist/, data/, and a node_modules
//    holding only the lockfile's non-dev packages), every module loads, `--version` answers and
//    `serve` starts, reviews over HTTPS, and drains and exits 0 on SIGTERM.
import t from 'tap';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = join(ROOT, 'dist');

interface PackageJson {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

// `npm test` builds dist/ before tap runs; build it here only when it is missing.
if (!existsSync(join(DIST, 'cli/main.js'))) {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
}
const distFiles = walk(DIST).filter((p) => p.endsWith('.js'));

/** The module specifiers of an ES module: static imports/exports, side-effect imports, dynamic import(). */
function specifiersOf(code: string): { static: string[]; dynamic: string[]; nonLiteralDynamic: number } {
  const stat = [...code.matchAll(/^\s*(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
  const bare = [...code.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
  const dynamic = [...code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
  const allDynamic = [...code.matchAll(/\bimport\(/g)].length;
  return { static: [...stat, ...bare], dynamic, nonLiteralDynamic: allDynamic - dynamic.length };
}

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

t.test('every runtime import of dist/ is a builtin, a file of dist/ or a production dependency', async (t) => {
  t.ok(distFiles.length > 20, `${distFiles.length} modules in dist/`);
  const builtins = new Set(builtinModules);
  const used = new Set<string>();
  for (const file of distFiles) {
    const rel = relative(ROOT, file);
    const code = readFileSync(file, 'utf8');
    const specs = specifiersOf(code);
    t.equal(specs.nonLiteralDynamic, 0, `${rel}: every import() names its module literally`);
    for (const spec of [...specs.static, ...specs.dynamic]) {
      if (spec.startsWith('node:')) {
        t.ok(builtins.has(spec.slice(5)), `${rel}: ${spec} is a Node.js builtin`);
      } else if (spec.startsWith('.') || spec.startsWith('/')) {
        const target = resolve(dirname(file), spec);
        t.ok(existsSync(target) && target.startsWith(DIST + '/'), `${rel}: ${spec} is a file of dist/`);
      } else if (builtins.has(spec)) {
        t.pass(`${rel}: ${spec} is a Node.js builtin`);
      } else {
        const name = packageName(spec);
        used.add(name);
        t.ok(Object.hasOwn(pkg.dependencies, name), `${rel}: ${spec} comes from "dependencies" (${name})`);
        t.notOk(Object.hasOwn(pkg.devDependencies ?? {}, name), `${rel}: ${name} is not a devDependency`);
      }
    }
  }
  t.ok(used.has('fastify') && used.has('pino') && used.has('@kubernetes/client-node'), `packages imported: ${[...used].sort().join(', ')}`);
});

/** The lockfile's top-level packages that `npm ci --omit=dev` installs. */
function productionPackages(): string[] {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { lockfileVersion: number; packages: Record<string, { dev?: boolean }> };
  return Object.entries(lock.packages)
    .filter(([path, meta]) => path.startsWith('node_modules/') && path.lastIndexOf('node_modules/') === 0 && !meta.dev)
    .map(([path]) => path);
}

/** Copies a folder, hard-linking files when the file system allows it, copying them otherwise. */
function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    if (entry.isDirectory()) linkTree(src, dst);
    else if (entry.isSymbolicLink()) cpSync(src, dst, { verbatimSymlinks: true });
    else {
      try {
        linkSync(src, dst);
      } catch {
        cpSync(src, dst);
      }
    }
  }
}

/** The image's /app: package.json, dist/, data/ and the production node_modules only (built once). */
let tree: string | undefined;
function productionTree(): string {
  if (tree) return tree;
  const app = mkdtempSync(join(tmpdir(), 'bg-prod-'));
  t.teardown(() => rmSync(app, { recursive: true, force: true }));
  writeFileSync(join(app, 'package.json'), JSON.stringify(pkg));
  const paths = ['dist', 'data', ...productionPackages().filter((p) => existsSync(join(ROOT, p)))];
  try {
    // One GNU cp with hard links: a fraction of a second for ~7000 files.
    execFileSync('cp', ['-a', '--link', '--parents', ...paths, app], { cwd: ROOT, stdio: 'pipe' });
  } catch {
    for (const p of paths) linkTree(join(ROOT, p), join(app, p));
  }
  tree = app;
  return app;
}

function run(app: string, args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(process.execPath, args, { cwd: app, env: { PATH: process.env.PATH ?? '', HOME: app, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    return { code: 0, stdout, stderr: '' };
  } catch (err) {
    const e = err as { status: number | null; stdout: string; stderr: string };
    return { code: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

function get(port: number, path: string, ca: Buffer, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: body ? 'POST' : 'GET', ca, servername: 'localhost', headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (data += d));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

t.test('the app runs from production dependencies only', async (t) => {
  const app = productionTree();
  t.notOk(existsSync(join(app, 'node_modules/typescript')), 'no TypeScript in the production tree');
  t.notOk(existsSync(join(app, 'node_modules/tap')), 'no tap in the production tree');
  for (const dep of Object.keys(pkg.dependencies)) t.ok(existsSync(join(app, 'node_modules', dep, 'package.json')), `${dep} is installed`);

  const version = run(app, ['dist/cli/main.js', '--version']);
  t.equal(version.code, 0, version.stderr);
  t.equal(version.stdout.trim(), pkg.version, '--version reads package.json next to dist/');

  const help = run(app, ['dist/cli/main.js', 'serve', '--help']);
  t.equal(help.code, 0, help.stderr);
  t.match(help.stdout, /backoff-guard serve/);

  // Every module loads (the entry point aside: importing it runs the CLI; kube/ takes over a second
  // to import @kubernetes/client-node and is loaded by the serve test below).
  const modules = distFiles.map((f) => relative(DIST, f)).filter((f) => f !== 'cli/main.js' && !f.startsWith('kube/'));
  const importAll = `for (const m of ${JSON.stringify(modules)}) await import('./dist/' + m);\nconsole.log('loaded', ${modules.length});`;
  const loaded = run(app, ['--input-type=module', '-e', importAll]);
  t.equal(loaded.code, 0, loaded.stderr);
  t.match(loaded.stdout, `loaded ${modules.length}`);

  // data/docker-official-images.txt is read relative to dist/image/: offline, "ngiinx" is denied
  // because it is not a Docker Official Image, with "nginx" suggested from that list.
  const offline = run(app, ['dist/cli/main.js', 'check', '--offline', '-f', join(ROOT, 'examples/pod-typo-in-name.yaml')]);
  t.equal(offline.code, 1, offline.stderr);
  t.match(offline.stdout, /not a Docker Official Image.*did you mean "nginx:1\.14\.2"/);
});

t.test('serve starts from the production tree, denies over HTTPS, drains on SIGTERM and exits 0', async (t) => {
  const app = productionTree();
  let child: ChildProcess | undefined;
  t.teardown(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });
  const certs = join(app, 'tmp-certs');
  // A kubeconfig (never reached: namespace reads fail and the default mode applies) makes serve load
  // @kubernetes/client-node, as it does in a cluster.
  const kubeconfig = join(app, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n',
  );
  const config = join(app, 'config.yaml');
  writeFileSync(
    config,
    [
      'server: {host: 127.0.0.1, port: 0, tls: {certFile: ' + join(certs, 'tls.crt') + ', keyFile: ' + join(certs, 'tls.key') + ', generateDevCertificates: true}}',
      'kubernetes: {enabled: "on", kubeconfig: ' + kubeconfig + '}',
      'registry: {timeoutMs: 500}',
      'log: {level: info}',
      '',
    ].join('\n'),
  );
  child = spawn(process.execPath, ['dist/cli/main.js', 'serve', '--config', config], { cwd: app, env: { PATH: process.env.PATH ?? '', HOME: app }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const port = await new Promise<number>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 20_000);
    const onData = () => {
      const m = /"port":(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePromise(Number(m[1]));
      }
    };
    child!.stdout!.on('data', onData);
    child!.on('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
  const ca = readFileSync(join(certs, 'ca.crt'));
  t.equal((await get(port, '/readyz', ca)).status, 200, 'ready');
  t.equal((await get(port, '/healthz', ca)).status, 200, 'alive');
  const review = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'prod-1',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      namespace: 'default',
      operation: 'CREATE',
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'app', image: 'busybox:1.36', command: ['exit', '1'] }] } },
    },
  };
  const answer = await get(port, '/validate?timeout=10s', ca, JSON.stringify(review));
  t.equal(answer.status, 200);
  t.match(answer.body, /"allowed":false/);
  t.match(answer.body, /\[command-sanity\]/);

  const exited = new Promise<number | null>((r) => child!.on('exit', (code) => r(code)));
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM: drains and exits 0');
});
