// The app and sshd as nile runs them inside the pod: the real runit `sv` reads and drives the app,
// and a developer can ssh into the scene of a failed start.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { freePort } from './helpers/ports.js';
import { fixtureCommand, Nile } from './helpers/nile.js';

const sv = (nile: Nile, ...args: string[]) => spawnSync('sv', [...args, path.join(nile.runDir, 'service', 'app')], { encoding: 'utf8', timeout: 20_000 });
const starts = (nile: Nile) => nile.logs.filter((l) => l.msg === 'app started').length;

t.test("runit's own sv reads and drives the app", async (t) => {
  const port = await freePort();
  const nile = new Nile({ config: { project: 'sv', app: { command: fixtureCommand('--port', String(port)) }, probe: { http: { port }, interval: '200ms' }, prestop: { wait: '100ms' } } });
  t.teardown(() => nile.stop());
  await nile.waitPhase('ready', 30_000);
  const status = sv(nile, 'status');
  t.equal(status.status, 0);
  t.match(status.stdout, new RegExp(`^run: .*/service/app: \\(pid ${nile.appPid()}\\) \\d+s\\n$`), 'sv status shows it running with its pid');

  const restart = sv(nile, 'restart');
  t.equal(restart.status, 0, `sv restart: ${restart.stdout}`);
  await nile.waitFor('a second start', () => starts(nile) === 2, 20_000);
  await nile.waitFor('ready again', () => nile.logs.filter((l) => l.msg === 'app ready').length === 2, 30_000);
  t.notOk(nile.logs.some((l) => l.msg.startsWith('app crashed')), 'a restart asked for is not a crash');

  const down = sv(nile, '-w', '15', 'down');
  t.equal(down.status, 0, `sv -w 15 down: ${down.stdout}`);
  t.match(sv(nile, 'status').stdout, /^down: .*\/service\/app: \d+s, normally up\n$/);
  t.equal((await nile.exec(['probe'])).code, 1, 'not ready while down');

  const up = sv(nile, 'up');
  t.equal(up.status, 0);
  await nile.waitFor('ready a third time', () => nile.logs.filter((l) => l.msg === 'app ready').length === 3, 30_000);
  t.equal((await nile.exec(['probe'])).code, 0);
});

t.test('ssh into the sshd nile runs in the PID namespace, also after the app failed to start', async (t) => {
  // sshd refuses authorized_keys below a world-writable directory such as /tmp.
  const keys = mkdtempSync('/run/nile-ssh-');
  t.teardown(() => rmSync(keys, { recursive: true, force: true }));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(keys, 'id')]);
  execFileSync('cp', [path.join(keys, 'id.pub'), path.join(keys, 'authorized_keys')]);
  const sshPort = await freePort();
  const port = await freePort();
  const nile = new Nile({
    config: {
      project: 'ssh',
      app: { command: fixtureCommand('--port', String(port), '--never-ready'), startTimeout: '2s' },
      probe: { http: { port }, interval: '200ms' },
      sshd: { enabled: true, port: sshPort, listen: '127.0.0.1', authorizedKeysFile: path.join(keys, 'authorized_keys') },
    },
  });
  t.teardown(() => nile.stop());
  await nile.waitLog((l) => l.msg.startsWith('startup failed'), 'the failed start', 30_000);
  const ssh = spawnSync(
    'ssh',
    ['-i', path.join(keys, 'id'), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-p', String(sshPort), 'root@127.0.0.1', 'echo pid1=$(cat /proc/1/comm); ps -eo pid,comm'],
    { encoding: 'utf8', timeout: 20_000 },
  );
  t.equal(ssh.status, 0, `ssh ran: ${ssh.stderr}`);
  t.match(ssh.stdout, /pid1=(node|nile)/, 'the session is inside the pod: PID 1 is nile');
  t.match(ssh.stdout, /\bjava\b/, "and sees the failed app's JVM, still there");
  const dumpFile = await nile.waitFor('the thread dump named by the report', () => JSON.parse(readFileSync(path.join(nile.runDir, 'last-failure.json'), 'utf8')).threadDumpFile as string | undefined, 15_000);
  t.match(readFileSync(dumpFile, 'utf8'), /Full thread dump/);
  const status = JSON.parse((await nile.exec(['status', '--json'])).stdout);
  t.match(status.services, [{ name: 'sshd', state: 'run' }], 'nile status lists sshd running');
});
