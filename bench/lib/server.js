// One HTTPS server under measurement, in a child process (run.js pins it with `taskset -c 0`).
// Started with the mode and a JSON settings file; answers on its IPC channel:
//   -> { ready: true, port }   when listening
//   <- { stop: true }          closes and exits
//   <- { rss: true }           -> { rss, heapUsed }
//   <- { cpu: true }           -> { cpuUs, userUs, systemUs }   (CPU time since start: user + system, and each)
// Modes:
//   floor   - the floor of this stack: Fastify 5 over HTTPS with the webhook's TLS settings
//             (same key and certificate, minVersion TLSv1.2), body limit and timeouts, parsing
//             the same JSON body and answering "allowed" for its uid; no validation, no log.
//   route   - the webhook's own route (dist/http/server.js buildServer: envelope schema,
//             deadline timers, one log line per review) with a review function that does
//             nothing: what the route costs by itself.
//   webhook - `backoff-guard serve` (dist/cli/serve.js) with the given config: the real thing.
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { pino } from 'pino';
import { allowResponse } from '../../dist/admission/review.js';
import { serve } from '../../dist/cli/serve.js';
import { loadConfig } from '../../dist/config/load.js';
import { buildServer } from '../../dist/http/server.js';

const [mode, settingsFile] = process.argv.slice(2);
const settings = JSON.parse(readFileSync(settingsFile, 'utf8'));
const config = loadConfig({ document: settings.config });
// One JSON line per review, as in production; the parent points stdout at /dev/null.
const logger = pino({ level: config.log.level });
const tls = { key: readFileSync(config.server.tls.keyFile), cert: readFileSync(config.server.tls.certFile) };

let close;
let port;
if (mode === 'floor') {
  const app = Fastify({
    logger: false,
    bodyLimit: config.server.bodyLimitBytes,
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    keepAliveTimeout: 65_000,
    https: { key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' },
  });
  app.post('/validate', async (request) => allowResponse(request.body?.request?.uid ?? ''));
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = app.server.address().port;
  close = () => app.close();
} else if (mode === 'route') {
  const app = buildServer({
    config,
    logger,
    tls,
    review: async (review) => ({ response: allowResponse(review.request.uid), mode: 'enforce', findings: [], timedOut: 0 }),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = app.server.address().port;
  close = () => app.close();
} else if (mode === 'webhook') {
  const server = await serve({ config, logger });
  port = server.port;
  close = server.close;
} else {
  throw new Error(`unknown mode ${mode}`);
}

process.on('message', async (msg) => {
  if (msg?.stop) {
    await close();
    process.disconnect();
    process.exit(0);
  }
  if (msg?.cpu) {
    const c = process.cpuUsage();
    process.send({ cpuUs: c.user + c.system, userUs: c.user, systemUs: c.system });
  }
  if (msg?.rss) {
    const m = process.memoryUsage();
    process.send({ rss: m.rss, heapUsed: m.heapUsed });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true, port });
