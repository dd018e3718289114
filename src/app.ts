// Composition root of the webhook: the engine plus the Fastify server. It never listens:
// src/cli/serve.ts does.
import { createEngine, type EngineOptions } from './engine.js';
import type { Config } from './config/schema.js';
import { buildServer } from './http/server.js';
import { createMetrics } from './metrics/metrics.js';

export interface AppOptions extends EngineOptions {
  tls?: { key: string | Buffer; cert: string | Buffer };
}

/** The webhook server, not yet listening. */
export async function createApp(config: Config, opts: AppOptions) {
  const metrics = createMetrics();
  const engine = await createEngine(config, {
    ...opts,
    onLookup: (result, cached) => metrics.lookup(result, cached),
    onRegistryRequest: (e) => {
      metrics.registryRequest(e.registry, e.status);
      if (e.status === '429') metrics.rateLimited(e.registry);
      if (e.countedPull) metrics.countedPull(e.registry);
      if (e.rateLimit) metrics.rateLimitRemaining(e.registry, e.rateLimit.remaining);
    },
    onSharedCache: (op, result, fallbackReason) => {
      metrics.sharedCache(op, result);
      if (fallbackReason) metrics.sharedCacheFallback(fallbackReason);
    },
  });
  let ready = true;
  const server = buildServer({
    config,
    logger: opts.logger,
    review: engine.review,
    metrics,
    ready: () => ready,
    ...(opts.tls ? { tls: opts.tls } : {}),
  });
  server.addHook('onClose', async () => {
    // Fastify has no logger (http/server.ts): a failure to close is logged here, and shutdown goes on.
    try {
      await engine.close();
    } catch (err) {
      opts.logger.error({ err }, 'closing the engine failed');
    }
  });
  return {
    server,
    engine,
    metrics,
    /** Readiness turns false first, so the Service stops sending before the listener closes. */
    setReady(value: boolean) {
      ready = value;
    },
  };
}
