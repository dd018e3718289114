import t from 'tap';
import { effectiveCommand } from '../../src/checks/effective-command.js';
import { effectiveArgv } from '../../src/checks/image-context.js';
import { blindInspector, expectOne, imageWorld, podInput } from '../helpers/image-world.js';

t.test('argv is built as containerd builds it (WithProcessArgs)', async (t) => {
  const image = { entrypoint: ['/docker-entrypoint.sh'], cmd: ['nginx', '-g', 'daemon off;'] };
  const rows: Array<[string, { command?: string[]; args?: string[] }, string[], string]> = [
    ['nothing set: ENTRYPOINT + CMD', {}, ['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;'], 'entrypoint'],
    ['command replaces ENTRYPOINT and drops CMD', { command: ['nginx'] }, ['nginx'], 'command'],
    ['command + args', { command: ['nginx'], args: ['-t'] }, ['nginx', '-t'], 'command'],
    ['args alone replace CMD, ENTRYPOINT stays', { args: ['nginx', '-T'] }, ['/docker-entrypoint.sh', 'nginx', '-T'], 'entrypoint'],
    ['command: [] counts as no command', { command: [] }, ['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;'], 'entrypoint'],
  ];
  for (const [name, c, argv, origin] of rows) t.same(effectiveArgv(c, image), { argv, origin }, name);
  t.same(effectiveArgv({ args: ['--port', '80'] }, { entrypoint: null, cmd: ['python'] }), { argv: ['--port', '80'], origin: 'args' }, 'no ENTRYPOINT: args[0] becomes the program');
  t.same(effectiveArgv({}, { entrypoint: [''], cmd: ['sh'] }), { argv: ['sh'], origin: 'cmd' }, 'ENTRYPOINT [""] counts as none');
  t.same(effectiveArgv({}, { entrypoint: null, cmd: null }).argv, []);
});

const world = await imageWorld();
t.teardown(() => world.close());
const img = world.images.ref;

t.test('an image with neither ENTRYPOINT nor CMD and no command: denied (no command specified)', async (t) => {
  const f = await effectiveCommand.run(podInput({ image: img('noentry:1') }), world.ports());
  expectOne(t, f, 'certain', 'failed to generate spec: no command specified', 'CreateContainerError', 'fix: set command');
  const dep = await effectiveCommand.run(podInput({ image: img('emptyentry:1') }, {}, 'Deployment'), world.ports());
  expectOne(t, dep, 'certain', /no ENTRYPOINT \(it is \[""\]\)/);
});

t.test('the same image with a command or args passes', async (t) => {
  t.same(await effectiveCommand.run(podInput({ image: img('noentry:1'), command: ['/bin/sh', '-c', 'sleep infinity'] }), world.ports()), []);
  t.same(await effectiveCommand.run(podInput({ image: img('noentry:1'), args: ['sleep', 'infinity'] }), world.ports()), []);
  t.same(await effectiveCommand.run(podInput({ image: img('multi:1') }), world.ports()), []);
});

t.test('cannot tell (registry down, no inspector): nothing said, image-exists reports the registry', async (t) => {
  t.same(await effectiveCommand.run(podInput({ image: img('noentry:1') }), world.ports({ inspector: blindInspector() })), []);
  const { inspector: _none, ...offline } = world.ports();
  t.same(await effectiveCommand.run(podInput({ image: img('noentry:1') }), offline), []);
});
