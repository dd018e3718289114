// Issue 12's figure for `npm run bench`: counted pulls per new image per cluster. Docker Hub
// counts a manifest GET as a pull (a HEAD, a token and a blob are free), so the bench points
// `docker.io` at the bench registry (registry.hosts."docker.io".server) and counts the manifest
// GETs that arrive there (the registry's access log) while new images are rolled out: for each
// image the Deployment, ReplicaSet and Pod reviews, as the controllers send them, spread over the
// replicas in turn. Scenarios: 1 replica; 3 replicas without a shared cache; 3 replicas sharing a
// real redis-server (Debian's `redis-server`); 3 replicas sharing it with docker.io set to
// existence only (inspect: never).
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from './registry.js';

/** The three objects one Deployment rollout sends to admission (see test/helpers/rollout.ts). */
export function rolloutObjects(image, name) {
  const hash = '5d8f7c6b9';
  const container = { name: 'app', image };
  const template = (labels) => ({ metadata: { labels }, spec: { containers: [container] } });
  const rs = `${name}-${hash}`;
  const labels = { app: name, 'pod-template-hash': hash };
  return [
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default', uid: `${name}-uid` }, spec: { selector: { matchLabels: { app: name } }, template: template({ app: name }) } },
    {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: rs, namespace: 'default', uid: `${rs}-uid`, labels, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid: `${name}-uid`, controller: true }] },
      spec: { selector: { matchLabels: labels }, template: template(labels) },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { generateName: `${rs}-`, namespace: 'default', labels, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs, uid: `${rs}-uid`, controller: true }] },
      spec: { containers: [container] },
    },
  ];
}

function ping(port) {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.setTimeout(500, () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      if (String(d).includes('+PONG')) {
        s.destroy();
        resolve(true);
      }
    });
  });
}

/** A redis-server on 127.0.0.1 with no persistence, or undefined when the binary is missing. */
export async function startRedis() {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const failed = new Promise((resolve) => proc.once('error', () => resolve(true)));
  for (let i = 0; i < 100; i++) {
    if (await Promise.race([failed, new Promise((r) => setTimeout(() => r(false), 50))])) return undefined;
    if (await ping(port)) {
      return {
        url: `redis://127.0.0.1:${port}`,
        stop: () => new Promise((r) => (proc.exitCode !== null ? r() : (proc.once('exit', r), proc.kill('SIGKILL')))),
      };
    }
  }
  proc.kill('SIGKILL');
  return undefined;
}

/**
 * Runs the scenarios. deps: the bench's own helpers (run.js): startServer, post, client (an undici
 * Agent trusting the webhook's CA), reg, storeImage, registryTraffic, settle, writeSettings,
 * baseConfig (the bench's webhook config), reviewFor, images (per scenario).
 */
export async function benchPulls(deps) {
  const { startServer, post, client, reg, storeImage, registryTraffic, settle, writeSettings, baseConfig, reviewFor, images, log } = deps;
  const redis = await startRedis();
  const scenarios = [
    { id: 'one', replicas: 1, shared: false, inspect: undefined, label: '1 replica' },
    { id: 'three', replicas: 3, shared: false, inspect: undefined, label: '3 replicas, no shared cache' },
    { id: 'shared', replicas: 3, shared: true, inspect: undefined, label: '3 replicas, shared cache (Redis)' },
    { id: 'existence', replicas: 3, shared: true, inspect: 'never', label: '3 replicas, shared cache, docker.io inspect: never' },
  ];
  const out = { images, redis: Boolean(redis), scenarios: [] };
  try {
    for (const s of scenarios) {
      if (s.shared && !redis) {
        out.scenarios.push({ ...s, skipped: 'redis-server not installed' });
        continue;
      }
      const prefix = `pulls-${s.id}`;
      const repos = Array.from({ length: images }, (_, i) => `${prefix}/app-${String(i).padStart(3, '0')}`);
      for (const repo of repos) storeImage(reg, repo, '1.0');
      const doc = {
        ...baseConfig,
        registry: { ...baseConfig.registry, hosts: { ...baseConfig.registry.hosts, 'docker.io': { server: reg.url, caFile: reg.caFile, allowPrivateNetwork: true, ...(s.inspect ? { inspect: s.inspect } : {}) } } },
        ...(s.shared ? { sharedCache: { url: redis.url } } : {}),
      };
      const settings = writeSettings(`pulls-${s.id}`, doc);
      log(`counted pulls: ${s.label}, ${images} new images, one rollout each`);
      const servers = [];
      try {
        for (let i = 0; i < s.replicas; i++) servers.push(await startServer('webhook', settings, process.env));
        await settle();
        const a0 = reg.access.length;
        const t0 = reg.tokenRequests.length;
        let bad = 0;
        let badExample;
        let reviews = 0;
        for (const [i, repo] of repos.entries()) {
          for (const [j, object] of rolloutObjects(`docker.io/${repo}:1.0`, `app-${i}`).entries()) {
            const uid = `${prefix}-${i}-${j}`;
            const r = await post(client, servers[reviews++ % servers.length].origin, JSON.stringify(reviewFor(object, { uid })));
            if (r.json?.response?.uid !== uid || r.json.response.allowed !== true || r.json.response.warnings) {
              bad++;
              badExample ??= r.text.slice(0, 300);
            }
          }
        }
        await settle();
        const traffic = registryTraffic(reg, `${prefix}/`, a0, t0);
        out.scenarios.push({ ...s, reviews, bad, badExample, countedPullsPerImage: traffic.getManifest / images, headsPerImage: traffic.head / images, traffic });
      } finally {
        for (const server of servers) await server.stop().catch(() => undefined);
      }
    }
  } finally {
    await redis?.stop();
  }
  return out;
}
