// Issue 12, the pull budget: what one new image costs the registry in counted pulls (manifest
// GETs; HEADs are free on Docker Hub), measured at a real nginx's access log in front of a real
// registry that stands for docker.io and sends Docker Hub's quota headers, and compared with
// backoff_guard_registry_counted_pulls_total as the engine reports it.
// One rollout = the Deployment, ReplicaSet and Pod reviews (test/helpers/rollout.ts).
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { createEngine } from '../../src/engine.js';
import type { RequestEvent } from '../../src/registry/transport.js';
import { readAccessLog, startNginx } from '../helpers/nginx.js';
import { freePort } from '../helpers/ports.js';
import { pushImage } from '../helpers/registry-fixtures.js';
import { startRegistry } from '../helpers/registry.js';
import { manifestRequests, quotaProxy, rolloutReviews } from '../helpers/rollout.js';

t.setTimeout(120_000);

const reg = await startRegistry({ auth: 'none' });
t.teardown(() => reg.stop());
const dir = mkdtempSync(join(tmpdir(), 'bg-budget-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function proxy(remaining: number): Promise<{ port: number; log: string }> {
  const port = await freePort();
  const log = join(dir, `access-${port}.log`);
  writeFileSync(log, '');
  const nginx = await startNginx(quotaProxy({ port, registryPort: reg.port, certFile: reg.certFile, keyFile: reg.keyFile, accessLog: log, remaining }), port);
  t.teardown(() => nginx.stop());
  return { port, log };
}
const plenty = await proxy(50);
const scarce = await proxy(3);

let n = 0;
/** An image new to everyone: its own repository. */
async function newImage(): Promise<{ image: string; repo: string }> {
  const repo = `team/budget${++n}`;
  await pushImage(reg, { repo, tag: '1' });
  return { image: `docker.io/${repo}:1`, repo };
}

async function replica(port: number, extra: Record<string, unknown> = {}, hostExtra: Record<string, unknown> = {}) {
  const config = loadConfig({
    document: {
      kubernetes: { enabled: 'off' },
      admission: { budgetMs: 10_000 },
      registry: { hosts: { 'docker.io': { server: `https://127.0.0.1:${port}`, caFile: reg.caFile, allowPrivateNetwork: true, ...hostExtra } } },
      ...extra,
    },
  });
  const counted: RequestEvent[] = [];
  const engine = await createEngine(config, {
    logger: pino({ level: 'silent' }),
    namespaceLabels: null,
    onRegistryRequest: (e) => {
      if (e.countedPull) counted.push(e);
    },
  });
  t.teardown(() => engine.close());
  return { engine, counted };
}

type Replica = Awaited<ReturnType<typeof replica>>;
/** Reviews one rollout of `image`, its three reviews going to the replicas in turn; the warnings of each. */
async function rollout(replicas: Replica[], image: string): Promise<string[][]> {
  const r = rolloutReviews(image);
  const out: string[][] = [];
  for (const [i, review] of [r.deployment, r.replicaSet, r.pod].entries()) {
    const res = await replicas[i % replicas.length]!.engine.review(review, AbortSignal.timeout(20_000));
    t.equal(res.response.response.allowed, true, `${review.request.kind.kind} allowed`);
    out.push(res.response.response.warnings ?? []);
  }
  return out;
}

async function logged(log: string, repo: string, atLeast: number) {
  const text = await readAccessLog(log, (l) => manifestRequests(l).filter((r) => r.uri.includes(`/${repo}/`)).length >= atLeast);
  const calls = manifestRequests(text).filter((r) => r.uri.includes(`/${repo}/`));
  return { gets: calls.filter((c) => c.method === 'GET').length, heads: calls.filter((c) => c.method === 'HEAD').length };
}

t.test('inspect: always (the behaviour before issue 12): one manifest GET per image per replica', async (t) => {
  const one = await replica(plenty.port, {}, { inspect: 'always' });
  const a = await newImage();
  await rollout([one], a.image);
  const single = await logged(plenty.log, a.repo, 1);
  t.equal(single.gets, 1, '1 replica: 1 counted pull for Deployment + ReplicaSet + Pod');
  t.equal(one.counted.length, single.gets, 'the metric counts what the access log shows');

  const three = [await replica(plenty.port, {}, { inspect: 'always' }), await replica(plenty.port, {}, { inspect: 'always' }), await replica(plenty.port, {}, { inspect: 'always' })];
  const b = await newImage();
  await rollout(three, b.image);
  const spread = await logged(plenty.log, b.repo, 3);
  t.equal(spread.gets, 3, '3 replicas, one review each: 3 counted pulls (no shared cache)');
  t.equal(three.reduce((k, r) => k + r.counted.length, 0), 3);
  t.ok(three.every((r) => r.counted.every((e) => e.registry === 'docker.io' && e.method === 'GET' && e.kind === 'manifest')));
});

t.test('Docker Hub default (whenQuotaAllows) with quota left: existence by HEAD, one GET by digest for the image-aware checks', async (t) => {
  const one = await replica(plenty.port);
  const a = await newImage();
  const warnings = await rollout([one], a.image);
  t.same(warnings, [[], [], []], 'nothing to warn about');
  const calls = await logged(plenty.log, a.repo, 2);
  t.equal(calls.gets, 1, '1 counted pull: the manifest body the image-aware checks read');
  t.ok(calls.heads >= 1, 'the existence check was a HEAD');
  t.equal(one.counted.length, 1);
  t.match(readFileSync(plenty.log, 'utf8'), new RegExp(`GET /v2/${a.repo}/manifests/sha256:`), 'the GET asked by digest');
});

t.test('Docker Hub default (whenQuotaAllows) below inspectMinRemaining: no GET at all, a "could not verify" warning naming the quota', async (t) => {
  const one = await replica(scarce.port);
  const a = await newImage();
  const warnings = await rollout([one], a.image);
  for (const w of warnings) {
    t.match(
      w.join('\n'),
      `[image-exists] container "app": could not verify what image "${a.image}" runs: docker.io has 3 of 10 pulls left per 1 h, under the 5 kept for the nodes (registry.inspectMinRemaining): manifest not downloaded; allowed unchecked`,
    );
  }
  const calls = await logged(scarce.log, a.repo, 1);
  t.equal(calls.gets, 0, '0 counted pulls');
  t.ok(calls.heads >= 1);
  t.equal(one.counted.length, 0);
});

t.test('existence only (inspect: never, or inspect.enabled false): 0 counted pulls, no warning', async (t) => {
  for (const [what, r] of [
    ['inspect: never', await replica(plenty.port, {}, { inspect: 'never' })],
    ['inspect.enabled: false', await replica(plenty.port, { inspect: { enabled: false } }, { inspect: 'always' })],
  ] as const) {
    const a = await newImage();
    const warnings = await rollout([r], a.image);
    t.same(warnings, [[], [], []], `${what}: no warning`);
    const calls = await logged(plenty.log, a.repo, 1);
    t.equal(calls.gets, 0, `${what}: 0 counted pulls`);
    t.ok(calls.heads >= 1, `${what}: existence by HEAD`);
    t.equal(r.counted.length, 0);
  }
});

t.test('a missing image: HEAD 404, then one GET to learn why (counted: Docker does not say it is free)', async (t) => {
  const one = await replica(plenty.port);
  const res = await one.engine.review(rolloutReviews('docker.io/team/nothing-here:1').deployment, AbortSignal.timeout(20_000));
  t.equal(res.response.response.allowed, false);
  const calls = await logged(plenty.log, 'team/nothing-here', 2);
  t.same(calls, { heads: 1, gets: 1 });
  t.equal(one.counted.length, 1, 'the metric counts the failure-path GET too: an upper bound');
});
