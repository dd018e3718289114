// temporary: webhook variants for attribution
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { allowResponse } from '../../dist/admission/review.js';
import { createApp } from '../../dist/app.js';
import { createEngine } from '../../dist/engine.js';
import { loadConfig } from '../../dist/config/load.js';
import { buildServer } from '../../dist/http/server.js';
const [mode, settingsFile] = process.argv.slice(2);
const settings = JSON.parse(readFileSync(settingsFile, 'utf8'));
const config = loadConfig({ document: settings.config });
const logger = pino({ level: mode.includes('nolog') ? 'warn' : 'info' });
const tls = { key: readFileSync(config.server.tls.keyFile), cert: readFileSync(config.server.tls.certFile) };
let app;
if (mode.startsWith('app')) {
  app = (await createApp(config, { logger, tls, namespaceLabels: null })).server;
} else if (mode.startsWith('engine')) {
  const engine = await createEngine(config, { logger, namespaceLabels: null });
  app = buildServer({ config, logger, tls, review: engine.review });
}
await app.listen({ host: '127.0.0.1', port: 0 });
process.on('message', async (msg) => { if (msg?.stop) { await app.close(); process.exit(0); } if (msg?.mark) process.send({ t: 0 }); });
process.send({ ready: true, port: app.server.address().port });
