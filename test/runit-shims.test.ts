// runit-compat/sv and runit-compat/runsvdir in an image without runit: PATH holds only the shims,
// a `nile` and the few tools the services use.
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ROOT } from './helpers/paths.js';
import { inChild, run, tempDir, waitSupervised } from './helpers/runit.js';
import { waitFor } from './helpers/wait.js';

const harness = fileURLToPath(new URL('./helpers/runit.js', import.meta.url));

function binDir(root: string): string {
  const bin = path.join(root, 'bin');
  mkdirSync(bin);
  for (const shim of ['sv', 'runsvdir']) copyFileSync(path.join(ROOT, 'runit-compat', shim), path.join(bin, shim));
  // nile itself: the test harness stands in for the CLI's `run` and `sv`.
  writeFileSync(path.join(bin, 'nile'), `#!/bin/sh\nexec "${process.execPath}" "${harness}" "$@"\n`);
  chmodSync(path.join(bin, 'nile'), 0o755);
  for (const tool of ['sleep', 'cat', 'mkfifo', 'flock']) symlinkSync(`/usr/bin/${tool}`, path.join(bin, tool));
  return bin;
}

t.test('the shims stand in for runit', async (t) => {
  const root = tempDir(t, 'shims');
  const bin = binDir(root);
  const env = { PATH: bin };
  const services = path.join(root, 'service');
  const a = path.join(services, 'a');
  mkdirSync(a, { recursive: true });
  writeFileSync(path.join(a, 'run'), '#!/bin/sh\nexec sleep 600\n');
  chmodSync(path.join(a, 'run'), 0o755);

  const found = await run('/bin/sh', ['-c', 'command -v runsv; command -v sv; command -v runsvdir'], env);
  t.equal(found.stdout, `${bin}/sv\n${bin}/runsvdir\n`, 'runit is off PATH');

  t.equal((await run(path.join(bin, 'runsvdir'), [], env)).code, 1, 'runsvdir without a directory is a usage error');

  inChild(t, [path.join(bin, 'runsvdir'), '-P', services], env);
  await waitSupervised(a);
  const sv = (...args: string[]) => run(path.join(bin, 'sv'), args, { ...env, SVDIR: services });
  await waitFor('a running', async () => (await sv('status', 'a')).stdout.startsWith('run: a: (pid '));
  const down = await sv('down', 'a');
  t.equal(down.code, 0);
  await waitFor('a down', async () => (await sv('status', 'a')).stdout.startsWith('down: a: '));
  const status = await sv('status', 'a');
  t.match(status.stdout, /^down: a: \d+s, normally up\n$/);
  t.equal(status.code, 0);
  const missing = await sv('status', 'nothing');
  t.equal(missing.stdout, 'fail: nothing: unable to change to service directory: file does not exist\n');
  t.equal(missing.code, 1);
});
