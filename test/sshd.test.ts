// sshd as nile runs it: generated host keys and config, keys-only root login, supervised at
// runDir/service/sshd where runit's sv sees it, restarted when it dies.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import { createLog } from '../src/log.js';
import { sshdConfig } from '../src/sshd/config.js';
import { hostKeys } from '../src/sshd/keys.js';
import { startSshd } from '../src/sshd/sshd.js';
import { freePort } from './helpers/ports.js';
import { realSv, run } from './helpers/runit.js';
import { waitFor } from './helpers/wait.js';

const log = createLog('silent');
const canRun = process.getuid?.() === 0 ? false : 'sshd must start as root to accept root logins';

// sshd's StrictModes refuses an authorized_keys file below a world-writable directory such as /tmp.
function privateDir(t: Test): string {
  const dir = mkdtempSync('/run/nile-sshd-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => resolve(true));
    socket.once('error', () => resolve(false));
    socket.once('connect', () => socket.destroy());
  });
}

function ssh(key: string, port: number, command: string) {
  const options = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'ConnectTimeout=5'];
  return run('ssh', ['-i', key, ...options, '-p', String(port), 'root@127.0.0.1', command]);
}

t.test('the config: keys only, as configured', async (t) => {
  const config = sshdConfig({ port: 2222, listen: '127.0.0.1', authorizedKeysFile: '/etc/nile/authorized_keys', hostKeys: ['/run/nile/ssh/a', '/run/nile/ssh/b'] });
  for (const line of [
    'Port 2222',
    'ListenAddress 127.0.0.1',
    'HostKey /run/nile/ssh/a',
    'HostKey /run/nile/ssh/b',
    'AuthorizedKeysFile /etc/nile/authorized_keys',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    'PidFile none',
  ]) {
    t.ok(config.split('\n').includes(line), line);
  }
  t.notMatch(sshdConfig({ port: 22, authorizedKeysFile: 'x', hostKeys: [] }), /ListenAddress/, 'no listen address: all of them');
});

t.test('a value with a control character is never written into sshd_config', async (t) => {
  const settings = { port: 2222, listen: '0.0.0.0', authorizedKeysFile: '/etc/nile/authorized_keys', hostKeys: ['/run/nile/ssh/a'] };
  const injected = { listen: '0.0.0.0\nBanner /etc/shadow', authorizedKeysFile: '/k\rPermitEmptyPasswords yes', hostKeys: ['/run/nile\nBanner /etc/shadow/ssh/a'] };
  for (const [key, value] of Object.entries(injected)) {
    t.throws(() => sshdConfig({ ...settings, [key]: value }), { message: new RegExp(`^sshd_config: ${key === 'hostKeys' ? 'HostKey' : key === 'listen' ? 'ListenAddress' : 'AuthorizedKeysFile'} .*control character`) }, `${key}: refused`);
  }
  t.doesNotThrow(() => sshdConfig(settings));
});

t.test("the image's host keys are used when it has any", async (t) => {
  const dir = privateDir(t);
  mkdirSync(path.join(dir, 'etc'));
  writeFileSync(path.join(dir, 'etc', 'ssh_host_rsa_key'), 'x');
  t.same(await hostKeys(path.join(dir, 'etc'), path.join(dir, 'own'), log), [path.join(dir, 'etc', 'ssh_host_rsa_key')]);
});

t.test('sshd lets a key in as root and is supervised', { skip: canRun }, async (t) => {
  const dir = privateDir(t);
  const key = path.join(dir, 'id');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const stranger = path.join(dir, 'stranger');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
  const authorizedKeys = path.join(dir, 'authorized_keys');
  writeFileSync(authorizedKeys, readFileSync(`${key}.pub`), { mode: 0o600 });
  mkdirSync(path.join(dir, 'no-image-keys'));
  const runDir = path.join(dir, 'run');
  const port = await freePort();

  const sshd = await startSshd({ runDir, port, listen: '127.0.0.1', authorizedKeysFile: authorizedKeys, log, systemKeysDir: path.join(dir, 'no-image-keys') });
  let stopped = false;
  t.teardown(() => (stopped ? undefined : sshd.stop()));

  for (const type of ['ed25519', 'rsa']) {
    const file = path.join(runDir, 'ssh', `ssh_host_${type}_key`);
    t.equal(statSync(file).mode & 0o777, 0o600, `${type} host key generated, private`);
  }
  const effective = await run('/usr/sbin/sshd', ['-T', '-f', path.join(runDir, 'ssh', 'sshd_config')]);
  t.equal(effective.code, 0, 'sshd accepts the config');
  t.match(effective.stdout, /^passwordauthentication no$/m);
  t.match(effective.stdout, /^usepam no$/m);
  t.match(effective.stdout, new RegExp(`^authorizedkeysfile ${authorizedKeys}$`, 'm'));
  t.ok(statSync('/run/sshd').isDirectory(), 'the privilege separation directory exists');

  await waitFor('sshd listening', () => listening(port));
  const session = await ssh(key, port, 'echo ok; ps -e -o comm');
  t.equal(session.code, 0, session.stderr);
  t.match(session.stdout, /^ok\n/);
  t.match(session.stdout, /\bsshd\b/, 'ps ran');
  t.not((await ssh(stranger, port, 'echo ok')).code, 0, 'a key not in authorized_keys is refused');

  const serviceDir = path.join(runDir, 'service', 'sshd');
  const first = sshd.status();
  t.match(first, { name: 'sshd', state: 'run', want: 'up' });
  t.match((await realSv('status', serviceDir)).stdout, new RegExp(`^run: ${serviceDir}: \\(pid ${first.pid}\\) \\d+s\\n$`));

  process.kill(first.pid, 'SIGKILL');
  await waitFor('sshd restarted', () => sshd.status().pid !== first.pid && sshd.status().state === 'run');
  await waitFor('sshd listening again', () => listening(port));
  t.equal((await ssh(key, port, 'echo ok')).stdout, 'ok\n', 'the restarted sshd lets the key in');

  const last = sshd.status().pid;
  await sshd.stop();
  stopped = true;
  t.throws(() => process.kill(last, 0), 'sshd is gone after stop()');
  t.notOk(await listening(port), 'the port is closed');
  t.match((await realSv('status', serviceDir)).stdout, /runsv not running/);
});
