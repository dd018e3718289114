// `npm run bench`: the five figures of issue 7 and issue 12's counted pulls, measured side by side in one run on this
// machine, against a real registry (CNCF Distribution, token auth, TLS) on 127.0.0.1.
// Prints a table and writes the full results as JSON under bench/results/.
//
//   1. Warm path: a 3-container Deployment whose images are cached, against the floor of the
//      stack (a no-op Fastify HTTPS server, same TLS settings, same body); the server runs in a
//      child pinned to CPU 0 (`taskset -c 0`), the load generator in a child pinned to CPU 1.
//      Throughput: autocannon, closed loop. Latency: open loop at 500 reviews/s, HDR histogram
//      in microseconds.
//   2. Cold path: 200 images never seen, one review each, in turn; registry requests counted at
//      the registry (its access log, the token server's log), latency beside the bare registry
//      round trip (token + HEAD from a plain undici client). Once with image inspection off (the
//      existence check alone: token + manifest) and with it on (+ the config blob it reads).
//   3. Thundering herd: 100 concurrent reviews of one new image; manifest requests at the registry.
//   4. Image index: a 100 MB multi-layer image through issue 5's inspector (n/a until built).
//   5. Memory under churn: 100k reviews over 10k distinct images, through the in-process engine
//      (lib/churn.js: 100k reviews over HTTPS would not fit the time budget).
//   6. Counted pulls per new image per cluster (issue 12, lib/pulls.js): manifest GETs at the
//      registry standing for docker.io, one rollout per new image over 1 or 3 `serve` replicas,
//      with and without a shared cache on a real redis-server.
//
// Everything is bounded: fixed request counts, per-step timeouts, only 127.0.0.1.
// BENCH_QUICK=1 runs every step with smaller counts (a smoke test of the bench itself);
// BENCH_ONLY=warm,cold,churn,index runs some steps; BENCH_ROUNDS=n sets the warm-path rounds;
// Warm path: every server gets the same N.warmupS (5 s) of saturating load before it is measured.
// BENCH_CPU_PROF=<dir> writes the servers' CPU profiles. With taskset, the server under measurement
// has CPU 0 to itself; everything else (this driver, the registry, the load generator) runs on CPU 1.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { reviewFor } from '../dist/admission/review.js';
import { generateCertificates } from '../dist/tls/dev-certs.js';
import { VERSION } from '../dist/version.js';
import { benchImageIndex } from './lib/image-index.js';
import { imageNodeFlags } from './lib/node-flags.js';
import { benchPulls } from './lib/pulls.js';
import { pusher, startBenchRegistry, storeImage, tagInStorage, tinyLayer } from './lib/registry.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LIB = join(ROOT, 'bench', 'lib');
const QUICK = process.env.BENCH_QUICK === '1';
const UID = '00000000-0000-4000-8000-000000000000';
const N = {
  cold: QUICK ? 20 : 200,
  // Fewer with caFile: that row is there to show what the per-host CA costs on a cold lookup.
  coldCaFile: QUICK ? 10 : 50,
  coldTagRepos: QUICK ? 2 : 10,
  coldTagsPerRepo: QUICK ? 10 : 20,
  herd: 100,
  pullImages: QUICK ? 5 : 20,
  churnRepos: QUICK ? 10 : 100,
  churnTagsPerRepo: QUICK ? 20 : 100,
  churnReviewsPerImage: 10,
  churnCacheEntries: 1000,
  churnInspectBytes: 16 * 1024 * 1024,
  churnBaseline: QUICK ? 2000 : 20000,
  throughputS: QUICK ? 2 : 3,
  // Saturating load before the measured window. Every server is a fresh process, and V8 needs a
  // few seconds of load to compile its hot code: measured per second of load on the 2 GHz EPYC,
  // in us of server CPU per review, the floor 505, 265, 166, 168 (then flat) and the webhook
  // 1183, 537, 274, 219, 209, 211 (then flat). With 1 s, the 3 s window of the webhook fell on
  // its seconds 2-4 and measured its JIT, not the warm path of a running replica.
  warmupS: QUICK ? 1 : 5,
  rate: 500,
  rateCount: QUICK ? 1000 : 2000,
  rateWarmup: QUICK ? 250 : 500,
  rounds: Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 3)),
};

// BENCH_ONLY=warm,cold,pulls,churn,index runs some of the steps (cold includes the thundering herd).
const STEPS = new Set((process.env.BENCH_ONLY ?? 'warm,cold,pulls,churn,index').split(',').map((x) => x.trim()));
const started = Date.now();
const log = (msg) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${msg}\n`);
const ms = (us) => (us / 1000).toFixed(2);
const round = (n, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

function withTimeout(p, msTimeout, what) {
  let timer;
  return Promise.race([p, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took more than ${msTimeout / 1000} s`)), msTimeout)))]).finally(() => clearTimeout(timer));
}

const haveTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0 && cpus().length >= 2;
// CPU 0 belongs to the server under measurement alone: this driver (all its threads) and what it
// starts unpinned (the registry, the token server) share CPU 1 with the load generator, which
// idle during the warm path.
if (haveTaskset) spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });

// Children are killed by PID if the bench ends early, whatever the way.
const liveChildren = new Set();
process.once('exit', () => {
  for (const kill of liveChildren) kill();
});

// Servers and memory children run with the container image's Node.js flags (its ENTRYPOINT).
const NODE_FLAGS = imageNodeFlags();

/** A child with an IPC channel, pinned to `cpu` when taskset works. */
function child(script, args, { cpu, env } = {}) {
  // BENCH_CPU_PROF=<dir>: the servers write V8 CPU profiles there (open them in Chrome DevTools).
  const prof = process.env.BENCH_CPU_PROF && script === 'server.js' ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
  const node = [process.execPath, ...NODE_FLAGS, ...prof, join(LIB, script), ...args];
  const [cmd, ...argv] = haveTaskset && cpu !== undefined ? ['taskset', '-c', String(cpu), ...node] : node;
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: env ?? process.env });
  const messages = [];
  const waiters = [];
  proc.on('message', (m) => (waiters.length ? waiters.shift().resolve(m) : messages.push(m)));
  proc.once('exit', (code) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`${script} exited (${code}) while waiting for ${w.what}`));
  });
  const next = (timeoutMs, what) =>
    withTimeout(
      new Promise((resolve, reject) => {
        if (messages.length) return resolve(messages.shift());
        if (proc.exitCode !== null || proc.signalCode !== null) return reject(new Error(`${script} has exited`));
        waiters.push({ resolve, reject, what });
      }),
      timeoutMs,
      what,
    );
  const kill = () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  };
  liveChildren.add(kill);
  proc.once('exit', () => liveChildren.delete(kill));
  return {
    proc,
    next,
    send: (m) => proc.send(m),
    async ask(m, timeoutMs, what) {
      proc.send(m);
      return next(timeoutMs, what);
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      try {
        proc.send({ stop: true });
      } catch {
        kill();
      }
      await withTimeout(exited, 10_000, `${script} to stop`).catch(kill);
    },
  };
}

async function startServer(mode, settingsFile, env) {
  const c = child('server.js', [mode, settingsFile], { cpu: 0, env });
  const ready = await c.next(60_000, `${mode} server start`);
  return { ...c, origin: `https://127.0.0.1:${ready.port}` };
}

async function post(dispatcher, origin, body) {
  const t0 = performance.now();
  const res = await request(`${origin}/validate?timeout=10s`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body, headersTimeout: 15_000, bodyTimeout: 15_000 });
  const text = await res.body.text();
  return { status: res.statusCode, json: res.statusCode === 200 ? JSON.parse(text) : undefined, text, ms: performance.now() - t0 };
}

const quantile = (values, q) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
};

const TINY_LAYER_DIGEST = `sha256:${createHash('sha256').update(tinyLayer).digest('hex')}`;
const settle = () => new Promise((r) => setTimeout(r, 400)); // the registry's access log is read from a pipe

/** The webhook's own registry traffic under `prefix` (access log + token log), by kind. */
function registryTraffic(reg, prefix, fromAccess = 0, fromToken = 0) {
  const mine = (ua) => ua.startsWith('backoff-guard/');
  const access = reg.access.slice(fromAccess).filter((a) => mine(a.userAgent) && a.path.startsWith(`/v2/${prefix}`));
  const count = (re, method) => access.filter((a) => (!method || a.method === method) && re.test(a.path)).length;
  const tokens = reg.tokenRequests.slice(fromToken).filter((t) => mine(t.userAgent) && t.scopes.some((s) => s.startsWith(`repository:${prefix}`))).length;
  const head = count(/\/manifests\//, 'HEAD');
  const getManifest = count(/\/manifests\//, 'GET');
  const blobs = count(/\/blobs\//);
  // The fixtures share one layer (the file index of executable-present reads it once per server).
  const layers = access.filter((a) => a.path.endsWith(`/blobs/${TINY_LAYER_DIGEST}`)).length;
  const tags = count(/\/tags\/list/);
  return { tokens, head, getManifest, blobs, configs: blobs - layers, layers, tags, total: tokens + access.length, registry: access.length };
}

/** An image written into storage is served by the registry's API like a pushed one: HEAD, manifest, config. */
async function checkStored(reg, repo, tag) {
  const authorization = `Bearer ${reg.mint([`repository:${repo}:pull`], 'bench')}`;
  const headers = { authorization, accept: 'application/vnd.oci.image.manifest.v1+json', 'user-agent': 'bench-check' };
  const head = await request(`${reg.url}/v2/${repo}/manifests/${tag}`, { method: 'HEAD', dispatcher: reg.agent, headers });
  await head.body.dump();
  const got = await request(`${reg.url}/v2/${repo}/manifests/${head.headers['docker-content-digest']}`, { dispatcher: reg.agent, headers });
  const manifest = await got.body.json();
  const blob = await request(`${reg.url}/v2/${repo}/blobs/${manifest.config.digest}`, { dispatcher: reg.agent, headers });
  await blob.body.dump();
  if (head.statusCode !== 200 || got.statusCode !== 200 || blob.statusCode !== 200) throw new Error(`stored image ${repo}:${tag} is not served: HEAD ${head.statusCode}, GET ${got.statusCode}, config ${blob.statusCode}`);
}

function configDoc({ certs, reg, caFile, cacheEntries, inspect = true }) {
  return {
    server: { host: '127.0.0.1', port: 0, tls: { certFile: certs.certFile, keyFile: certs.keyFile, generateDevCertificates: false } },
    admission: { budgetMs: 3000 },
    registry: { timeoutMs: 2500, hosts: { [reg.host]: { allowPrivateNetwork: true, ...(caFile ? { caFile: reg.caFile } : {}) } } },
    ...(cacheEntries ? { cache: { maxEntries: cacheEntries } } : {}),
    ...(inspect ? {} : { inspect: { enabled: false } }),
    kubernetes: { enabled: 'off' },
    log: { level: 'info' },
  };
}

async function main() {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'serve.js'))) throw new Error('dist/ is missing: run `npm run build` (npm run bench does)');
  const work = mkdtempSync(join(tmpdir(), 'bg-bench-'));
  const results = {
    version: VERSION,
    date: new Date().toISOString(),
    machine: { node: process.version, nodeFlags: NODE_FLAGS, cpus: cpus().length, cpuModel: cpus()[0]?.model, pinned: haveTaskset, quick: QUICK, loadAverageAtStart: loadavg() },
  };
  let reg;
  let load;
  const servers = [];
  try {
    log('starting the registry (docker-registry, token auth, TLS) on 127.0.0.1');
    reg = await startBenchRegistry();
    const p = pusher(reg);
    const extraCaEnv = { ...process.env, NODE_EXTRA_CA_CERTS: reg.caFile };

    log('pushing fixtures');
    const warmImages = ['library/nginx:1.14.2', 'library/busybox:1.36', 'team/app:1.0'];
    for (const image of warmImages) {
      const [repo, tag] = image.split(':');
      await p.pushImage(repo, tag);
    }
    const coldA = Array.from({ length: N.cold }, (_, i) => `cold-a/app-${String(i).padStart(3, '0')}`);
    const coldB = Array.from({ length: N.cold }, (_, i) => `cold-b/app-${String(i).padStart(3, '0')}`);
    const coldD = Array.from({ length: N.cold }, (_, i) => `cold-d/app-${String(i).padStart(3, '0')}`);
    for (const repo of [...coldA, ...coldB, ...coldD]) storeImage(reg, repo, '1.0');
    const coldC = [];
    for (let r = 0; r < N.coldTagRepos; r++) {
      const repo = `cold-c/app-${r}`;
      const digest = storeImage(reg, repo, 'seed');
      for (let t = 0; t < N.coldTagsPerRepo; t++) {
        tagInStorage(reg, repo, `t${t}`, digest);
        coldC.push(`${repo}:t${t}`);
      }
    }
    storeImage(reg, 'herd/app', '1.0');
    storeImage(reg, 'churn-warm/app', '1.0');
    const churnImages = [];
    for (let r = 0; r < N.churnRepos; r++) {
      const repo = `churn/r${String(r).padStart(2, '0')}`;
      const digest = storeImage(reg, repo, 'seed');
      for (let t = 0; t < N.churnTagsPerRepo; t++) {
        tagInStorage(reg, repo, `t${t}`, digest);
        churnImages.push(`${reg.host}/${repo}:t${t}`);
      }
    }
    await checkStored(reg, coldA[0], '1.0');
    // A fixed shuffle (xorshift), so every run rolls the images out in the same order.
    let seed = 0x9e3779b9;
    const rnd = () => ((seed ^= seed << 13), (seed ^= seed >>> 17), (seed ^= seed << 5), (seed >>> 0) / 2 ** 32);
    for (let i = churnImages.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [churnImages[i], churnImages[j]] = [churnImages[j], churnImages[i]];
    }

    const certs = await generateCertificates({ dir: join(work, 'webhook-tls'), hosts: ['127.0.0.1', 'localhost'] });
    const client = new Agent({ connect: { ca: certs.caPem }, connections: 128 });
    const writeSettings = (name, doc) => {
      const file = join(work, `${name}.json`);
      writeFileSync(file, JSON.stringify({ config: doc }));
      return file;
    };
    const caFileSettings = writeSettings('cafile', configDoc({ certs, reg, caFile: true }));
    const extraCaSettings = writeSettings('extra-ca', configDoc({ certs, reg, caFile: false }));
    const existenceSettings = writeSettings('existence-only', configDoc({ certs, reg, caFile: false, inspect: false }));

    if (STEPS.has('warm')) {
      // ---- 1. warm path ----
      const deployment = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: 'default' },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              containers: warmImages.map((image, i) => ({ name: ['web', 'sidecar', 'app'][i], image: `${reg.host}/${image}`, command: ['/app'], ports: i === 0 ? [{ containerPort: 8080 }] : undefined })),
            },
          },
        },
      };
      const warmBody = JSON.stringify(reviewFor(deployment, { uid: UID }));
      load = child('load.js', [], { cpu: 1 });
      await load.next(30_000, 'load generator start');
      results.warm = { bodyBytes: Buffer.byteLength(warmBody), rounds: [], servers: {} };
      // Rounds alternate the three servers, so a burst of background load on this machine hits
      // them alike; each mode keeps its best round (highest throughput, lowest p99), and every
      // round is in the JSON.
      for (let roundNo = 1; roundNo <= N.rounds; roundNo++) {
        for (const mode of ['floor', 'route', 'webhook']) {
          log(`warm path, round ${roundNo}/${N.rounds}: ${mode} server on CPU 0, load on CPU 1`);
          const server = await startServer(mode, caFileSettings, process.env);
          servers.push(server);
          const out = { mode, round: roundNo };
          if (mode === 'webhook') {
            const primed = await post(client, server.origin, warmBody);
            out.primed = primed.json?.response;
            if (!primed.json?.response?.allowed || primed.json.response.warnings) log(`warning: the warm review is not a clean allow: ${primed.text.slice(0, 300)}`);
          }
          // The same warm-up for every server (N.warmupS), outside the measured window.
          const warmup = await load.ask({ type: 'throughput', origin: server.origin, body: warmBody, connections: 32, durationS: N.warmupS, warmupS: 0 }, 120_000, `${mode} warm-up`);
          if (!warmup.ok) throw new Error(warmup.error);
          out.warmup = { seconds: N.warmupS, requests: warmup.result.requests, non2xx: warmup.result.non2xx, errors: warmup.result.errors };
          const tpCpu0 = await server.ask({ cpu: true }, 10_000, 'server cpu');
          const tp = await load.ask({ type: 'throughput', origin: server.origin, body: warmBody, connections: 32, durationS: N.throughputS, warmupS: 0 }, 120_000, `${mode} throughput`);
          if (!tp.ok) throw new Error(tp.error);
          out.throughput = tp.result;
          // Server CPU per review at saturation, warm: the cost of a review in CPU time, which
          // other load on the machine disturbs far less than throughput.
          const tpCpu1 = await server.ask({ cpu: true }, 10_000, 'server cpu');
          const tpReviews = tp.result.requests;
          out.throughput.serverCpuUsPerReview = (tpCpu1.cpuUs - tpCpu0.cpuUs) / tpReviews;
          // The kernel's share (TLS writes, epoll): what a review costs in system calls.
          out.throughput.serverSystemCpuUsPerReview = (tpCpu1.systemUs - tpCpu0.systemUs) / tpReviews;
          const cpu0 = await server.ask({ cpu: true }, 10_000, 'server cpu');
          const rate = await load.ask(
            { type: 'rate', origin: server.origin, ca: certs.caPem, bodyTemplate: warmBody, ratePerS: N.rate, count: N.rateCount, warmupCount: N.rateWarmup, connections: 64, maxSeconds: 60 },
            180_000,
            `${mode} fixed rate`,
          );
          if (!rate.ok) throw new Error(rate.error);
          out.rate = rate.result;
          // CPU time the server spent per review at the fixed rate: robust to other load on the machine.
          out.rate.serverCpuUsPerReview = ((await server.ask({ cpu: true }, 10_000, 'server cpu')).cpuUs - cpu0.cpuUs) / (N.rateCount + N.rateWarmup);
          out.serverMemory = await server.ask({ rss: true }, 10_000, 'server rss');
          await server.stop();
          results.warm.rounds.push(out);
          log(`  ${mode}: ${round(out.throughput.reviewsPerSecond, 0)} reviews/s, p50 ${ms(out.rate.latencyUs.p50)} ms, p99 ${ms(out.rate.latencyUs.p99)} ms at ${N.rate}/s, server CPU ${round(out.throughput.serverCpuUsPerReview, 0)} us/review saturated (${round(out.throughput.serverSystemCpuUsPerReview, 0)} in the kernel), ${round(out.rate.serverCpuUsPerReview, 0)} at ${N.rate}/s`);
        }
      }
      for (const mode of ['floor', 'route', 'webhook']) {
        const runs = results.warm.rounds.filter((r) => r.mode === mode);
        const bestTp = runs.reduce((a, b) => (b.throughput.reviewsPerSecond > a.throughput.reviewsPerSecond ? b : a));
        const bestLat = runs.reduce((a, b) => (b.rate.latencyUs.p99 < a.rate.latencyUs.p99 ? b : a));
        results.warm.servers[mode] = {
          throughput: bestTp.throughput,
          rate: bestLat.rate,
          bad: runs.reduce((n, r) => n + r.rate.bad + r.throughput.non2xx + r.throughput.errors + (r.warmup?.non2xx ?? 0) + (r.warmup?.errors ?? 0), 0),
          badExample: runs.find((r) => r.rate.badExample)?.rate.badExample,
          serverMemory: bestTp.serverMemory,
        };
      }
      const floor = results.warm.servers.floor;
      const hook = results.warm.servers.webhook;
      results.warm.ratio = {
        throughput: hook.throughput.reviewsPerSecond / floor.throughput.reviewsPerSecond,
        p99DeltaMs: (hook.rate.latencyUs.p99 - floor.rate.latencyUs.p99) / 1000,
        p50DeltaMs: (hook.rate.latencyUs.p50 - floor.rate.latencyUs.p50) / 1000,
      };

    
    }

    if (STEPS.has('cold')) {
      // ---- 2. cold path, 3. thundering herd ----
      const podReview = (image, uid) => JSON.stringify(reviewFor({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'cold', namespace: 'default' }, spec: { containers: [{ name: 'app', image, command: ['/app'] }] } }, { uid }));
      const coldRun = async (server, name, images) => {
        await settle();
        const a0 = reg.access.length;
        const t0 = reg.tokenRequests.length;
        const latencies = [];
        let bad = 0;
        let badExample;
        for (const [i, image] of images.entries()) {
          const r = await post(client, server.origin, podReview(`${reg.host}/${image}`, `${name}-${i}`));
          latencies.push(r.ms);
          if (r.json?.response?.uid !== `${name}-${i}` || r.json.response.allowed !== true || r.json.response.warnings) {
            bad++;
            badExample ??= r.text.slice(0, 300);
          }
        }
        await settle();
        const prefix = images[0].split('/')[0];
        const traffic = registryTraffic(reg, `${prefix}/`, a0, t0);
        const pings = reg.access.slice(a0).filter((a) => a.userAgent.startsWith('backoff-guard/') && a.path === '/v2/').length;
        return {
          images: images.length,
          repositories: new Set(images.map((im) => im.split(':')[0])).size,
          bad,
          badExample,
          traffic,
          pings,
          perImage: {
            total: traffic.total / images.length,
            tokens: traffic.tokens / images.length,
            head: traffic.head / images.length,
            manifests: (traffic.head + traffic.getManifest) / images.length,
            configs: traffic.configs / images.length,
            layers: traffic.layers / images.length,
            other: (traffic.total - traffic.tokens - traffic.head) / images.length,
          },
          latencyMs: { p50: quantile(latencies, 0.5), p90: quantile(latencies, 0.9), p99: quantile(latencies, 0.99), max: Math.max(...latencies) },
        };
      };

      log(`cold path: ${N.coldCaFile} new images, one repository each, registry CA from registry.hosts.<host>.caFile`);
      let server = await startServer('webhook', caFileSettings, process.env);
      servers.push(server);
      results.cold = { caFile: await coldRun(server, 'cold-a', coldA.slice(0, N.coldCaFile).map((r) => `${r}:1.0`)) };

      log(`thundering herd: ${N.herd} concurrent reviews of one new image`);
      await settle();
      {
        const a0 = reg.access.length;
        const t0 = reg.tokenRequests.length;
        const herdClient = new Agent({ connect: { ca: certs.caPem }, connections: N.herd });
        const t = performance.now();
        const answers = await Promise.all(Array.from({ length: N.herd }, (_, i) => post(herdClient, server.origin, podReview(`${reg.host}/herd/app:1.0`, `herd-${i}`))));
        const wall = performance.now() - t;
        await herdClient.close();
        await settle();
        const traffic = registryTraffic(reg, 'herd/', a0, t0);
        results.herd = {
          reviews: N.herd,
          allowed: answers.filter((r, i) => r.json?.response?.uid === `herd-${i}` && r.json.response.allowed === true && !r.json.response.warnings).length,
          manifestRequests: traffic.head + traffic.getManifest,
          traffic,
          wallMs: wall,
          latencyMs: { p50: quantile(answers.map((r) => r.ms), 0.5), max: Math.max(...answers.map((r) => r.ms)) },
        };
      }
      await server.stop();

      log(`cold path: ${N.cold} new images again, registry CA from NODE_EXTRA_CA_CERTS; then ${coldC.length} images over ${N.coldTagRepos} repositories`);
      server = await startServer('webhook', extraCaSettings, extraCaEnv);
      servers.push(server);
      results.cold.extraCa = await coldRun(server, 'cold-b', coldB.map((r) => `${r}:1.0`));
      results.cold.sharedRepos = await coldRun(server, 'cold-c', coldC);
      await server.stop();

      log(`cold path: ${N.cold} new images with image inspection off (the existence check alone)`);
      server = await startServer('webhook', existenceSettings, extraCaEnv);
      servers.push(server);
      results.cold.existenceOnly = await coldRun(server, 'cold-d', coldD.map((r) => `${r}:1.0`));
      await server.stop();

      // The bare registry round trip a cold lookup cannot avoid: token, then HEAD (the registry
      // closes the connection after a HEAD, so each HEAD pays a TLS handshake, as the webhook's do).
      {
        const direct = new Agent({ connect: { ca: reg.caPem }, connections: 4 });
        const times = [];
        for (const repo of coldA) {
          const t = performance.now();
          const tok = await request(`${reg.tokenRealm}?service=${reg.tokenService}&scope=repository:${repo}:pull`, { dispatcher: direct });
          const { token } = await tok.body.json();
          const head = await request(`${reg.url}/v2/${repo}/manifests/1.0`, { method: 'HEAD', dispatcher: direct, headers: { authorization: `Bearer ${token}`, accept: 'application/vnd.oci.image.manifest.v1+json' } });
          await head.body.dump();
          if (head.statusCode !== 200) throw new Error(`direct HEAD ${repo}: ${head.statusCode}`);
          times.push(performance.now() - t);
        }
        await direct.close();
        results.cold.registryRoundTripMs = { p50: quantile(times, 0.5), p99: quantile(times, 0.99) };
      }

    
    }

    if (STEPS.has('pulls')) {
      // ---- 6. counted pulls per new image per cluster (issue 12) ----
      results.pulls = await benchPulls({
        startServer,
        post,
        client,
        reg,
        storeImage,
        registryTraffic,
        settle,
        writeSettings,
        baseConfig: configDoc({ certs, reg, caFile: true }),
        reviewFor,
        images: N.pullImages,
        log,
      });
    }

    if (STEPS.has('churn')) {
      // ---- 5. memory under churn ----
      log(`memory under churn: ${churnImages.length * N.churnReviewsPerImage} reviews over ${churnImages.length} images, in-process engine, cache budget ${N.churnCacheEntries} entries + ${N.churnInspectBytes / 1048576} MiB of layer index`);
      {
        const churnDoc = configDoc({ certs, reg, caFile: false, cacheEntries: N.churnCacheEntries });
        const settings = {
          config: {
            ...churnDoc,
            // 10k cold images are 20k+ registry requests (Distribution closes the connection after
            // each HEAD): more of them in flight keeps this step within the bench's time budget.
            registry: { ...churnDoc.registry, maxConcurrentRequests: 32 },
            inspect: { cacheBytes: N.churnInspectBytes },
          },
          images: churnImages,
          warmupImage: `${reg.host}/churn-warm/app:1.0`,
          reviewsPerImage: N.churnReviewsPerImage,
          rollouts: 64,
          baselineReviews: N.churnBaseline,
          budgetMs: 3000,
          maxSeconds: 130,
        };
        const settingsFile = join(work, 'churn.json');
        writeFileSync(settingsFile, JSON.stringify(settings));
        const stdout = await new Promise((resolve, reject) => {
          execFile(process.execPath, [...NODE_FLAGS, '--expose-gc', join(LIB, 'churn.js'), `@${settingsFile}`], { env: extraCaEnv, timeout: 240_000, maxBuffer: 16 << 20 }, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)));
        });
        results.churn = JSON.parse(stdout.trim().split('\n').pop());
      }

    
    }

    if (STEPS.has('index')) {
      // ---- 4. image index ----
      log('image index: 100 MB multi-layer image');
      results.imageIndex = await benchImageIndex({
        inspectorModulePath: join(ROOT, 'dist', 'inspect', 'image-inspector.js'),
        reg,
        store: (repo, tag, image) => storeImage(reg, repo, tag, image),
        env: extraCaEnv,
        nodeFlags: NODE_FLAGS,
      }).catch((err) => ({ status: 'failed', reason: String(err.message ?? err).split('\n')[0] }));
    }

        await client.close();
  } finally {
    for (const s of servers) await s.stop().catch(() => undefined);
    await load?.stop().catch(() => undefined);
    await reg?.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
  results.seconds = (Date.now() - started) / 1000;
  return results;
}

function table(r) {
  const rows = [];
  const row = (figure, measured, target = '', verdict = '') => rows.push([figure, measured, target, verdict]);
  const ok = (cond) => (cond ? 'ok' : 'MISSED');
  if (r.warm) warmRows(r, row, ok);
  else row('1. Warm path', 'skipped (BENCH_ONLY)');
  if (r.cold) coldRows(r, row, ok);
  else row('2.-3. Cold path, thundering herd', 'skipped (BENCH_ONLY)');
  if (r.imageIndex) indexRow(r, row, ok);
  else row('4. Image index', 'skipped (BENCH_ONLY)');
  if (r.churn) churnRow(r, row, ok);
  else row('5. Memory under churn', 'skipped (BENCH_ONLY)');
  if (r.pulls) pullRows(r, row, ok);
  else row('6. Counted pulls per new image', 'skipped (BENCH_ONLY)');
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((x) => x[i].length), ['Figure', 'Measured', 'Target', ''][i].length));
  const line = (x) => `| ${x.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  return [line(['Figure', 'Measured', 'Target', '']), `|${widths.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

function warmRows(r, row, ok) {
  const w = r.warm.servers;
  const tp = (s) => `${Math.round(s.throughput.reviewsPerSecond).toLocaleString('en-US')} reviews/s (${Math.round(s.throughput.serverCpuUsPerReview ?? NaN)} us CPU each)`;
  const lat = (s) => `p50 ${ms(s.rate.latencyUs.p50)} ms, p99 ${ms(s.rate.latencyUs.p99)} ms, p99.9 ${ms(s.rate.latencyUs.p999)} ms`;
  row('1. Warm path, 3-container Deployment (cached)', '', '', '');
  row('   floor: no-op Fastify HTTPS, same TLS/body', `${tp(w.floor)}; at ${N.rate}/s: ${lat(w.floor)}`);
  row('   webhook route with a no-op review', `${tp(w.route)}; at ${N.rate}/s: ${lat(w.route)}`);
  row('   backoff-guard serve, warm', `${tp(w.webhook)}; at ${N.rate}/s: ${lat(w.webhook)}`);
  row('   ratio to the floor: throughput', `${(r.warm.ratio.throughput * 100).toFixed(0)} %`, '>= 75 %', ok(r.warm.ratio.throughput >= 0.75));
  row(`   ratio to the floor: p99 at ${N.rate}/s`, `${r.warm.ratio.p99DeltaMs >= 0 ? '+' : ''}${r.warm.ratio.p99DeltaMs.toFixed(2)} ms`, '<= +1 ms', ok(r.warm.ratio.p99DeltaMs <= 1));
  const bad = ['floor', 'route', 'webhook'].reduce((n, m) => n + w[m].bad, 0);
  row('   invalid, denied or warned answers, errors', `${bad}${bad ? ` (${w.webhook.badExample ?? w.route.badExample ?? w.floor.badExample})`.slice(0, 160) : ''}`, '0', ok(bad === 0));
}

function coldRows(r, row, ok) {
  const cold = (c) =>
    `${c.perImage.total.toFixed(2)} requests/image (token ${c.perImage.tokens.toFixed(2)}, manifest ${(c.perImage.manifests ?? c.perImage.head).toFixed(2)}, config ${(c.perImage.configs ?? 0).toFixed(2)}, layers ${(c.perImage.layers ?? 0).toFixed(2)}); p50 ${c.latencyMs.p50.toFixed(1)} ms, p99 ${c.latencyMs.p99.toFixed(1)} ms`;
  // The existence check needs token + manifest (2). Image inspection (issue 5: command, user,
  // platform checks) also reads the config blob, so a new single-platform image costs 3 requests;
  // the manifest request is shared (GET instead of HEAD), never repeated.
  // Layers are read once per distinct layer (the file index is cached): not a per-image cost.
  const within = (c, max) => ok(c.perImage.total - (c.perImage.layers ?? 0) <= max && c.bad === 0);
  row('2. Cold path: new images, 1 repository each', '', '', '');
  if (r.cold.existenceOnly) row(`   ${r.cold.existenceOnly.images} images, existence check alone (inspect off)`, cold(r.cold.existenceOnly), '<= 2 requests/image', within(r.cold.existenceOnly, 2));
  row(`   ${r.cold.extraCa.images} images, with image inspection`, cold(r.cold.extraCa), '<= 3 (+ config blob)', within(r.cold.extraCa, 3));
  row(`   ${r.cold.caFile.images} images, inspection, CA via registry.hosts.<h>.caFile`, cold(r.cold.caFile), '<= 3 (+ config blob)', within(r.cold.caFile, 3));
  row(`   ${r.cold.sharedRepos.images} new tags over ${r.cold.sharedRepos.repositories} repositories (token reused)`, cold(r.cold.sharedRepos), '<= 2 requests/image', within(r.cold.sharedRepos, 2));
  row('   bare registry round trip (token + HEAD)', `p50 ${r.cold.registryRoundTripMs.p50.toFixed(1)} ms, p99 ${r.cold.registryRoundTripMs.p99.toFixed(1)} ms`);
  // The existence check sends what the bare round trip sends (token + manifest HEAD): what the
  // webhook adds to a cold lookup is the ratio of the two p50s.
  if (r.cold.existenceOnly) {
    const x = r.cold.existenceOnly.latencyMs.p50 / r.cold.registryRoundTripMs.p50;
    row('   cold p50 (existence check) / bare round trip', `${x.toFixed(2)}x`, '<= 1.25x', ok(x <= 1.25));
  }
  const h = r.herd;
  row(`3. Thundering herd, ${h.reviews} concurrent reviews, 1 new image`, `${h.manifestRequests} manifest request(s), ${h.traffic.tokens} token request(s); ${h.allowed}/${h.reviews} allowed; all answered in ${h.wallMs.toFixed(0)} ms`, '1 manifest request', ok(h.manifestRequests === 1 && h.allowed === h.reviews));
}

// Issue 12: what one new image costs Docker Hub's pull quota (manifest GETs), per cluster.
const PULL_TARGETS = { one: [1, '<= 1'], three: [undefined, '(the figure without a shared cache)'], shared: [1, '<= 1'], existence: [0, '0'] };
function pullRows(r, row, ok) {
  const p = r.pulls;
  row(`6. Counted pulls per new image, ${p.images} images, one rollout each (Deployment, ReplicaSet, Pod reviews over the replicas)`, '', '', '');
  for (const s of p.scenarios) {
    const [max, target] = PULL_TARGETS[s.id];
    if (s.skipped) {
      row(`   ${s.label}`, `n/a (${s.skipped})`, target);
      continue;
    }
    const measured = `${s.countedPullsPerImage.toFixed(2)} counted pulls (manifest GETs), ${s.headsPerImage.toFixed(2)} HEADs per image; ${s.bad} bad answers${s.bad ? ` (${s.badExample})`.slice(0, 160) : ''}`;
    row(`   ${s.label}`, measured, target, max === undefined ? (s.bad ? 'MISSED' : '') : ok(s.countedPullsPerImage <= max && s.bad === 0));
  }
}

function indexRow(r, row, ok) {
  const ix = r.imageIndex;
  if (ix.status === 'ok') {
    row('4. Image index, 100 MB multi-layer image, fresh process', `${ix.seconds.toFixed(2)} s, peak RSS +${ix.rssGrowthMB} MB (${ix.rssBeforeMB} -> ${ix.rssPeakMB} MB), ${ix.layers} layers, ${(ix.compressedBytes / 1e6).toFixed(0)} MB`, 'RSS growth <= 48 MB', ok(ix.rssGrowthMB <= 48));
    const w = ix.warm;
    if (w?.status === 'ok') row('   the same, after a 1 MB image (a serving replica)', `${w.seconds.toFixed(2)} s, peak RSS +${w.rssGrowthMB} MB (${w.rssBeforeMB} -> ${w.rssPeakMB} MB): what the 100 MB themselves add`);
    else if (w) row('   the same, after a 1 MB image (a serving replica)', `n/a (${w.reason})`);
  } else {
    row('4. Image index, 100 MB multi-layer image', `n/a (${ix.reason})`);
  }
}

function churnRow(r, row, ok) {
  const c = r.churn;
  const first = c.samples[0]?.reviews ?? 0;
  const second = c.samples.filter((x) => x.reviews - first >= c.reviews / 2 - 1);
  const growth = second.length > 1 ? second[second.length - 1].rssMB - second[0].rssMB : 0;
  const budgetMB = (c.cache.maxEntries * c.bytesPerEntry + (c.cache.inspectCacheBytes ?? 0)) / 1048576;
  const bound = c.baseline.rssPeakMB + budgetMB + 32;
  row(
    `5. Memory under churn, ${c.reviews.toLocaleString('en-US')} reviews / ${c.distinctImages.toLocaleString('en-US')} images`,
    `peak RSS ${c.rssPeakMB} MB; fixed overhead (same load, 1 image, all hits) ${c.baseline.rssPeakMB} MB; budget ${budgetMB.toFixed(1)} MB (${c.cache.maxEntries} entries x ${c.bytesPerEntry} B + ${((c.cache.inspectCacheBytes ?? 0) / 1048576).toFixed(0)} MiB layer index); heap after GC ${c.heapStartMB} -> ${c.heapEndMB} MB; RSS 2nd half ${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB; ${c.registryLookups.toLocaleString('en-US')} lookups, ${Math.round(c.reviewsPerSecond)} reviews/s in-process; ${c.bad} bad`,
    'peak <= overhead + budget + 32 MB',
    ok(c.rssPeakMB <= bound && c.bad === 0 && c.reviews >= c.distinctImages * N.churnReviewsPerImage),
  );
}

const results = await main();
const head = `backoff-guard ${results.version} benchmark, ${results.date}: Node.js ${results.machine.node}${results.machine.nodeFlags?.length ? ` (${results.machine.nodeFlags.join(' ')}, as the image runs it)` : ''}, ${results.machine.cpus} x ${results.machine.cpuModel}${results.machine.pinned ? ', server pinned to CPU 0 and load generator to CPU 1 (taskset)' : ', NOT pinned (taskset unavailable)'}${QUICK ? ', QUICK (smaller counts)' : ''}; load average at start ${results.machine.loadAverageAtStart[0].toFixed(2)}; best of ${N.rounds} round(s) for the warm path; ${results.seconds.toFixed(0)} s`;
const text = `${head}\n\n${table(results)}\n`;
process.stdout.write(text);
const dir = join(ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `bench-${results.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify({ ...results, table: text }, null, 2)}\n`);
process.stdout.write(`\nfull results: ${file}\n`);
