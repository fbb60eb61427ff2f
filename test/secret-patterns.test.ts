import t from 'tap';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { cleanEnv, Nile } from './helpers/nile.js';
import { ROOT } from './helpers/paths.js';
import { freePort } from './helpers/ports.js';
import { settlesWithin } from './helpers/wait.js';
import { yamlFiles } from './helpers/yaml-files.js';

// A user's secretPatterns run in linear time: no pattern and no output line can make PID 1 spin.

t.test('a pattern that backtracks for ever on a long name: nile still answers and stops on TERM', async (t) => {
  const port = await freePort();
  // A 30,000-letter option name that `(a+)+$` almost matches, then an exit before the app was ever ready.
  const script = `printf -- '-D%sb=1\\n' "$(head -c 30000 /dev/zero | tr '\\000' a)"; echo 'the end'; exit 1`;
  const nile = new Nile({
    door: 'node',
    config: {
      project: 'patterns',
      app: { command: ['sh', '-c', script], secretPatterns: ['(a+)+$', '^MyCorp_'], env: { MYCORP_LICENSE: 'lic-7171-long' } },
      probe: { http: { port }, interval: '200ms' },
    },
  });
  t.teardown(() => nile.stop());
  await nile.waitPhase('failed', 30_000);
  await nile.waitLog((l) => l.msg.startsWith('doctor:'), 'the doctor on the failure', 30_000);
  const status = await nile.exec(['status', '--json'], 15_000);
  t.equal(status.code, 0, `nile status answers (${status.stderr.slice(0, 200)})`);
  t.match(status.stdout, /the end/, 'with the last output');
  const config = await nile.exec(['config', '--config', nile.configFile], 15_000);
  t.match(config.stdout, /MYCORP_LICENSE: "?\*\*\*/, 'a pattern still matches names whatever their case');
  nile.signal('SIGTERM');
  const exit = await settlesWithin(nile.exited, 20_000);
  t.ok(exit, 'nile stopped on TERM');
});

t.test('a pattern the linear engine cannot run is a config error naming its place', async (t) => {
  const { yamlFile } = yamlFiles(t, 'nile-patterns-');
  const file = yamlFile('project: demo\napp:\n  secretPatterns: ["^ok_", "(a)\\\\1", "(?<=x)y", "("]\n');
  const result = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'nile.js'), 'config', '--config', file], { env: cleanEnv(), encoding: 'utf8', timeout: 20_000 });
  t.equal(result.status, 2, 'exit 2');
  t.notMatch(result.stderr, /secretPatterns\[0\]/, 'the good pattern is fine');
  t.match(result.stderr, /app\.secretPatterns\[1\]: .*linear time/, 'a backreference');
  t.match(result.stderr, /app\.secretPatterns\[2\]: .*linear time/, 'a lookbehind');
  t.match(result.stderr, /app\.secretPatterns\[3\]: .*not a regular expression/, 'a broken one');
});
