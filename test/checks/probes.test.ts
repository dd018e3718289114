import t from 'tap';
import { probes } from '../../src/checks/probes.js';
import { blindInspector, configOnly, expectOne, imageWorld, podInput } from '../helpers/image-world.js';

const world = await imageWorld();
t.teardown(() => world.close());
const img = world.images.ref;
const run = (c: Parameters<typeof podInput>[0], ports = world.ports()) => probes.run(podInput(c, {}, 'Deployment'), ports);
const exec = (command: string[]) => ({ exec: { command }, periodSeconds: 10 });

t.test('a liveness exec probe whose program the image lacks: restarted forever, denied', async (t) => {
  const f = await run({ image: img('alpine:3'), livenessProbe: exec(['curl', '-f', 'http://localhost/health']) });
  expectOne(t, f, 'certain', 'liveness probe command "curl" is not in the image: every probe fails with exec: "curl": executable file not found in $PATH: killed by the kubelet once its liveness probe fails, Error, then CrashLoopBackOff');
  const startup = await run({ image: img('distroless:1'), startupProbe: exec(['/bin/sh', '-c', 'test -f /ready']) });
  expectOne(t, startup, 'certain', 'startup probe', 'exec: "/bin/sh": stat /bin/sh: no such file or directory');
});

t.test('a shell builtin as the probe command: denied without the image', async (t) => {
  const f = await run({ image: img('alpine:3'), livenessProbe: exec(['exit', '0']) }, world.ports({ inspector: blindInspector() }));
  expectOne(t, f, 'certain', 'is a shell builtin, not a program', 'fix: command: ["sh", "-c", "exit 0"]');
});

t.test('a probe script that always fails', async (t) => {
  expectOne(t, await run({ image: img('alpine:3'), livenessProbe: exec(['sh', '-c', 'exit 1']) }), 'certain', 'always ends with "exit 1"');
});

t.test('readiness: the same faults are warnings (never Ready, no restarts)', async (t) => {
  const f = await run({ image: img('alpine:3'), readinessProbe: exec(['curl', 'localhost']) });
  expectOne(t, f, 'likely', 'never becomes Ready');
});

t.test('a named port the container does not declare', async (t) => {
  const f = await run({ image: img('alpine:3'), livenessProbe: { httpGet: { path: '/healthz', port: 'http' } }, ports: [{ name: 'web', containerPort: 8080 }] });
  expectOne(t, f, 'certain', 'liveness probe httpGet port "http" is not a named port', '"port http not found"');
  const ready = await run({ image: img('alpine:3'), readinessProbe: { tcpSocket: { port: 'grpc' } } });
  expectOne(t, ready, 'likely', 'tcpSocket port "grpc"');
});

t.test('garbage in the object under review is read, never thrown on', async (t) => {
  const f = await run({ image: img('alpine:3'), livenessProbe: { exec: { command: [{ toString: null }] } } }, world.ports({ inspector: blindInspector() }));
  t.same(f, []);
});

t.test('passing probes', async (t) => {
  t.same(await run({ image: img('alpine:3'), livenessProbe: exec(['wget', '-q', '-O-', 'http://localhost/']) }), [], 'wget is a busybox applet');
  t.same(await run({ image: img('alpine:3'), livenessProbe: exec(['sh', '-c', 'test -f /tmp/healthy']) }), []);
  t.same(await run({ image: img('alpine:3'), livenessProbe: { httpGet: { port: 'http' } }, ports: [{ name: 'http', containerPort: 80 }] }), []);
  t.same(await run({ image: img('alpine:3'), livenessProbe: { httpGet: { port: 8080 } } }), [], 'a number needs no declaration');
  t.same(await run({ image: img('alpine:3'), livenessProbe: { tcpSocket: { port: '8080' } } }), [], 'a number written as a string');
});

t.test('cannot tell: file index unknown or registry down -> silent', async (t) => {
  t.same(await run({ image: img('alpine:3'), livenessProbe: exec(['curl', 'x']) }, world.ports({ inspector: configOnly(world.inspector) })), []);
  t.same(await run({ image: img('alpine:3'), livenessProbe: exec(['curl', 'x']) }, world.ports({ inspector: blindInspector() })), []);
});
