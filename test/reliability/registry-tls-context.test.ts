// The TLS trust store of a registry configured with `caFile` is built once, not once per
// connection. Building it means parsing the ~140 system roots plus the file (Node replaces its
// default roots when given `ca`, so src/registry/transport.ts passes all of them), 30-140 ms of
// synchronous work on the event loop each time on a 2-core machine; and CNCF Distribution
// closes the connection after every manifest HEAD (`Connection: close`), so a client that does
// not share the context pays it on every cold lookup, stalling every review in flight (see the
// registry-faults test answering past its deadline when faults come together).
import t from 'tap';
import tls from 'node:tls';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { createEngine } from '../../src/engine.js';
import { parseReference } from '../../src/image/reference.js';
import { pushImage, tagManifest } from '../helpers/registry-fixtures.js';
import { startRegistry } from '../helpers/registry.js';

const TAGS = 12;

const registry = await startRegistry({ auth: 'none' });
t.teardown(() => registry.stop());
const pushed = await pushImage(registry, { repo: 'team/ctx', tag: 't0' });
for (let i = 1; i < TAGS; i++) await tagManifest(registry, { repo: 'team/ctx', digest: pushed.digest, tag: `t${i}` });

// Count the secure contexts that tls.connect builds from an explicit CA list (the expensive ones),
// and their cost. (A context built once by the transport itself is not counted: it is not built
// through this module property.)
const original = tls.createSecureContext;
const built = { withCa: 0, ms: 0 };
const counting = function (this: unknown, options?: tls.SecureContextOptions) {
  const started = performance.now();
  try {
    return original.call(this, options);
  } finally {
    if (options?.ca) {
      built.withCa++;
      built.ms += performance.now() - started;
    }
  }
};
(tls as { createSecureContext: typeof tls.createSecureContext }).createSecureContext = counting as typeof tls.createSecureContext;
t.teardown(() => void ((tls as { createSecureContext: typeof tls.createSecureContext }).createSecureContext = original));

t.test(`${TAGS} cold lookups on one registry with caFile build its trust store once`, async (t) => {
  const config = loadConfig({
    document: {
      registry: { hosts: { [registry.host]: { caFile: registry.caFile, allowPrivateNetwork: true } } },
      kubernetes: { enabled: 'off' },
    },
  });
  const engine = await createEngine(config, { logger: pino({ level: 'silent' }), namespaceLabels: null });
  t.teardown(() => engine.close());
  built.withCa = 0;
  built.ms = 0;
  for (let i = 0; i < TAGS; i++) {
    const found = await engine.facts.lookup(parseReference(`${registry.host}/team/ctx:t${i}`), AbortSignal.timeout(10_000));
    t.equal(found.status, 'found', `t${i} found`);
  }
  t.ok(built.withCa <= 1, `secure contexts built with the CA list while connecting: ${built.withCa} for ${TAGS} lookups (${built.ms.toFixed(0)} ms of blocked event loop, ${(built.ms / Math.max(1, built.withCa)).toFixed(0)} ms each); expected at most one for the host`);
});
