// The Dockerfile and .dockerignore, read as text (no Docker engine here): the properties the chart
// relies on (numeric non-root user, read-only root file system, SIGTERM, entry point, mount paths)
// and a build context that holds everything the Dockerfile copies and nothing else.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { ENV_OVERRIDES } from '../../src/config/load.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const dockerignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8');
// Instructions with their continuation lines joined, comments dropped.
const instructions = dockerfile
  .split('\n')
  .filter((line) => !/^\s*#/.test(line))
  .join('\n')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter(Boolean);
const stages = instructions.filter((i) => /^FROM\s/i.test(i));
const finalStage = instructions.slice(instructions.lastIndexOf(stages.at(-1)!));

t.test('multi-stage: build with dev dependencies, run Node.js 24 with production dependencies only', async (t) => {
  t.ok(stages.length >= 2, `${stages.length} stages`);
  t.match(dockerfile, /ARG NODE_IMAGE=node:24-bookworm-slim/);
  t.ok(instructions.some((i) => /^RUN npm ci\b(?!.*--omit=dev)/.test(i)), 'the build stage installs dev dependencies');
  t.ok(instructions.some((i) => /^RUN npm run build\b/.test(i)), 'the build stage compiles');
  t.ok(instructions.some((i) => /^RUN npm ci .*--omit=dev/.test(i)), 'production dependencies come from npm ci --omit=dev');
  t.notOk(finalStage.some((i) => /^RUN npm ci\b(?!.*--omit=dev)/.test(i)), 'the final stage has no dev dependencies');
  t.ok(finalStage.some((i) => /^COPY --from=build \/app\/dist/.test(i)), 'the final stage copies dist/ from the build stage');
  t.ok(finalStage.some((i) => /^COPY data /.test(i)), 'the final stage has data/ (Docker Official Images list)');
  t.ok(finalStage.some((i) => /^COPY package\.json /.test(i)), 'the final stage has package.json (--version reads it)');
});

t.test('runs as numeric non-root 65532, stops with SIGTERM, starts `serve`', async (t) => {
  t.ok(finalStage.includes('USER 65532:65532'), 'USER 65532:65532');
  t.ok(finalStage.includes('STOPSIGNAL SIGTERM'));
  t.ok(finalStage.includes('ENTRYPOINT ["node", "--liftoff-only", "/app/dist/cli/main.js"]'));
  t.ok(finalStage.includes('CMD ["serve"]'));
  t.ok(finalStage.includes('EXPOSE 8443'));
  const values = parse(readFileSync(join(ROOT, 'charts/backoff-guard/values.yaml'), 'utf8')) as { securityContext: { runAsUser: number; runAsGroup: number } };
  t.equal(values.securityContext.runAsUser, 65532, 'the chart runs the same user');
  t.equal(values.securityContext.runAsGroup, 65532);
});

t.test('the entry point\'s Node.js flags: accepted by this Node.js, and the ones the bench runs with', async (t) => {
  const entrypoint = finalStage.find((i) => /^ENTRYPOINT\s/.test(i))!;
  const argv = JSON.parse(entrypoint.replace(/^ENTRYPOINT\s+/, '')) as string[];
  const flags = argv.slice(1, -1);
  t.same(flags, ['--liftoff-only'], 'node --liftoff-only (no optimizing recompile of undici\'s WebAssembly HTTP parser)');
  // CI runs this on Node.js 20 and 24: a flag a newer V8 dropped fails here, not in the image.
  const run = spawnSync(process.execPath, [...flags, '-e', 'process.exit(0)'], { encoding: 'utf8' });
  t.equal(run.status, 0, `node ${flags.join(' ')} starts on ${process.version}: ${run.stderr}`);
  t.equal(run.stderr, '', 'without a warning');
  const bench = spawnSync(process.execPath, ['--input-type=module', '-e', "import { imageNodeFlags } from './bench/lib/node-flags.js'; process.stdout.write(JSON.stringify(imageNodeFlags()));"], { cwd: ROOT, encoding: 'utf8' });
  t.equal(bench.status, 0, bench.stderr);
  t.same(JSON.parse(bench.stdout), flags, 'bench/lib/node-flags.js reads the same flags from the Dockerfile');
});

t.test('the image environment: certificate paths the chart mounts, no development certificates', async (t) => {
  const env = Object.fromEntries([...dockerfile.matchAll(/\b(BACKOFF_GUARD_[A-Z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
  t.equal(env.BACKOFF_GUARD_TLS_CERT_FILE, '/etc/backoff-guard/tls/tls.crt');
  t.equal(env.BACKOFF_GUARD_TLS_KEY_FILE, '/etc/backoff-guard/tls/tls.key');
  t.equal(env.BACKOFF_GUARD_TLS_GENERATE, 'false');
  t.match(dockerfile, /HOME=\/tmp/, 'HOME in the only writable path');
  for (const name of Object.keys(env)) {
    const known = Object.hasOwn(ENV_OVERRIDES, name);
    t.ok(known, `${name} is a documented override (src/config/load.ts ENV_OVERRIDES)`);
  }
});

t.test('.dockerignore lets in exactly what the Dockerfile copies from the context', async (t) => {
  const patterns = dockerignore
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  t.equal(patterns[0], '*', 'an allow-list: everything is excluded first');
  const allowed = new Set(patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1).replace(/\/$/, '')));
  const copied = instructions
    .filter((i) => /^COPY\s/.test(i) && !/--from=/.test(i))
    .flatMap((i) => i.split(/\s+/).slice(1, -1))
    .map((p) => p.replace(/\/$/, ''));
  t.ok(copied.length >= 5, `copied from the context: ${copied.join(', ')}`);
  for (const path of copied) t.ok(allowed.has(path), `${path} is in the build context`);
  for (const secret of ['certs', 'node_modules', 'dist', '.git']) t.notOk(allowed.has(secret), `${secret} stays out of the build context`);
});
