// The world of the issue 12 tests: a real registry standing for docker.io behind a real nginx
// that adds Docker Hub's quota headers and writes the access log that is the measure, and a
// real redis-server for the shared cache. Everything is torn down with `t`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNginx } from './nginx.js';
import { freePort } from './ports.js';
import { startRedis } from './redis.js';
import { startRegistry, type TestRegistry } from './registry.js';
import { quotaProxy } from './rollout.js';

type Teardown = { teardown(fn: () => unknown): void };

export interface QuotaWorld {
  reg: TestRegistry;
  dir: string;
  /** nginx's port: the docker.io the webhook is pointed at. */
  port: number;
  /** nginx's access log. */
  log: string;
  redis: Awaited<ReturnType<typeof startRedis>>;
}

export async function startQuotaWorld(t: Teardown, opts: { prefix: string; remaining: number; limit: number; windowS?: number; redisPassword?: string }): Promise<QuotaWorld> {
  const reg = await startRegistry({ auth: 'none' });
  t.teardown(() => reg.stop());
  const dir = mkdtempSync(join(tmpdir(), opts.prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const log = join(dir, 'access.log');
  writeFileSync(log, '');
  const proxy = quotaProxy({ port, registryPort: reg.port, certFile: reg.certFile, keyFile: reg.keyFile, accessLog: log, remaining: opts.remaining, limit: opts.limit, ...(opts.windowS ? { windowS: opts.windowS } : {}) });
  const nginx = await startNginx(proxy, port);
  t.teardown(() => nginx.stop());
  const redis = await startRedis(opts.redisPassword ? { password: opts.redisPassword } : {});
  t.teardown(() => redis.stop());
  return { reg, dir, port, log, redis };
}
