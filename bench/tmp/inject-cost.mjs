import { pino } from 'pino';
import { createApp } from '../../dist/app.js';
import { loadConfig } from '../../dist/config/load.js';
import { reviewFor } from '../../dist/admission/review.js';
const config = loadConfig({ document: { kubernetes: { enabled: 'off' }, log: { level: 'info' } } });
const logger = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: true }));
const app = await createApp(config, { logger, namespaceLabels: null, offline: true });
for (const [name, containers] of [['no image', [{ name: 'a', command: ['/app'] }]], ['offline image', [{ name: 'a', image: 'nginx:1.14.2', command: ['/app'] }]]]) {
  const body = reviewFor({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', namespace: 'default' }, spec: { containers } });
  for (let round = 0; round < 2; round++) {
    const t = performance.now();
    for (let i = 0; i < 3000; i++) await app.server.inject({ method: 'POST', url: '/validate?timeout=10s', payload: body });
    console.log(name, 'per inject us', ((performance.now() - t) / 3000 * 1000).toFixed(0));
  }
}
const r = await app.server.inject({ method: 'POST', url: '/validate?timeout=10s', payload: reviewFor({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', namespace: 'default' }, spec: { containers: [{ name: 'a', image: 'nginx:1.14.2', command: ['/app'] }] } }) });
console.log(r.body.slice(0, 300));
await app.server.close();
