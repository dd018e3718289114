// The load generator, in a child process (run.js pins it with `taskset -c 1`, the server being
// on core 0). Jobs arrive on the IPC channel, results go back on it. Every job is bounded in
// count and in time, and only ever targets the https://127.0.0.1 origin it is given.
//   throughput - autocannon (closed loop, N connections, fixed duration): reviews/s.
//   rate       - open loop at a fixed offered rate (undici Pool), each latency recorded in
//                microseconds in an HDR histogram (sub-millisecond percentiles), every answer
//                parsed and checked (HTTP 200, AdmissionReview, the request's uid, allowed).
import autocannon from 'autocannon';
import hdr from 'hdr-histogram-js';
import { Pool } from 'undici';

const UID = '00000000-0000-4000-8000-000000000000';

function assertLocal(origin) {
  const u = new URL(origin);
  if (u.hostname !== '127.0.0.1') throw new Error(`the load generator only targets 127.0.0.1, not ${u.hostname}`);
}

async function throughput({ origin, body, connections, durationS, warmupS }) {
  assertLocal(origin);
  const opts = {
    url: `${origin}/validate?timeout=10s`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    pipelining: 1,
    timeout: 10,
  };
  const warm = warmupS > 0 ? await autocannon({ ...opts, duration: warmupS }) : undefined;
  const r = await autocannon({ ...opts, duration: durationS });
  return {
    requests: r.requests.total,
    warmupRequests: warm?.requests.total ?? 0,
    durationS: r.duration,
    reviewsPerSecond: r.requests.total / r.duration,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    // autocannon records whole milliseconds
    latencyMs: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max },
  };
}

async function rate({ origin, ca, bodyTemplate, ratePerS, count, warmupCount, connections, maxSeconds }) {
  assertLocal(origin);
  const [prefix, suffix] = bodyTemplate.split(UID);
  const pool = new Pool(origin, { connections, pipelining: 1, connect: { ca } });
  const run = async (total, record) => {
    const hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
    let bad = 0;
    let badExample;
    let maxLateMs = 0;
    const inflight = new Set();
    const intervalMs = 1000 / ratePerS;
    const fire = (i) => {
      const uid = `bench-${record ? 'm' : 'w'}-${i}-${process.pid}`;
      const started = performance.now();
      const p = pool
        .request({ path: '/validate?timeout=10s', method: 'POST', headers: { 'content-type': 'application/json' }, body: prefix + uid + suffix })
        .then(async (res) => {
          const text = await res.body.text();
          hist.recordValue(Math.max(1, Math.round((performance.now() - started) * 1000)));
          let ok = res.statusCode === 200;
          if (ok) {
            const j = JSON.parse(text);
            ok = j.apiVersion === 'admission.k8s.io/v1' && j.kind === 'AdmissionReview' && j.response?.uid === uid && j.response.allowed === true && !j.response.warnings;
          }
          if (!ok) {
            bad++;
            badExample ??= `${res.statusCode} ${text.slice(0, 300)}`;
          }
        })
        .catch((err) => {
          bad++;
          badExample ??= String(err);
        })
        .finally(() => inflight.delete(p));
      inflight.add(p);
    };
    const start = performance.now();
    const stopAt = start + maxSeconds * 1000;
    let sent = 0;
    await new Promise((resolve) => {
      const tick = () => {
        const now = performance.now();
        const due = Math.min(total, Math.floor((now - start) / intervalMs) + 1);
        while (sent < due) {
          maxLateMs = Math.max(maxLateMs, now - (start + sent * intervalMs));
          fire(sent++);
        }
        if (sent >= total || now > stopAt) return resolve();
        setTimeout(tick, Math.max(0, start + sent * intervalMs - performance.now()));
      };
      tick();
    });
    const sentEnd = performance.now();
    await Promise.all([...inflight]);
    const us = (p) => hist.getValueAtPercentile(p);
    return {
      sent,
      offeredPerSecond: sent / ((sentEnd - start) / 1000),
      bad,
      badExample,
      maxLateMs,
      latencyUs: { p50: us(50), p90: us(90), p99: us(99), p999: us(99.9), max: hist.maxValue, mean: hist.mean },
    };
  };
  try {
    if (warmupCount > 0) await run(warmupCount, false);
    return await run(count, true);
  } finally {
    await pool.close();
  }
}

process.on('message', async (job) => {
  try {
    const result = job.type === 'throughput' ? await throughput(job) : job.type === 'rate' ? await rate(job) : undefined;
    if (!result) throw new Error(`unknown job ${job.type}`);
    process.send({ ok: true, result });
  } catch (err) {
    process.send({ ok: false, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
