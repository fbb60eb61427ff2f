import t, { type Test } from 'tap';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Nile } from './helpers/nile.js';
import { freePort } from './helpers/ports.js';
import { settlesWithin } from './helpers/wait.js';

// nile as a user of its own without capabilities (a Pod Security "restricted" pod): what needs a
// privilege says which one, in the log, `nile status` and `nile doctor`; asking to start the app as
// another user is a config error.

const user = { uid: 10001, gid: 10001 };

function runDirFor(t: Test): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-privileges-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o777);
  return path.join(dir, 'run');
}

t.test('sshd without root: the log, nile status and nile doctor name the privilege it needs', async (t) => {
  const runDir = runDirFor(t);
  const nile = new Nile({ door: 'node', config: { project: 'nosshd', type: 'worker', runDir, app: { command: ['sleep', '120'] }, probe: { interval: '200ms' }, sshd: { enabled: true, port: await freePort() } }, user });
  t.teardown(() => nile.stop());
  const warned = await nile.waitLog((l) => /^sshd/.test(l.msg) && l.level !== 30, 'what the log says of sshd');
  t.match(warned.msg, /^sshd not started: sshd needs root with CAP_SETUID, CAP_SETGID and CAP_SYS_CHROOT; nile runs as uid 10001$/, warned.msg);
  await nile.waitPhase('ready', 30_000);
  await nile.waitAnswering();
  const env = { NILE_RUNDIR: runDir };
  const status = await nile.exec(['status'], 15_000, env);
  t.match(status.stdout, /^sshd: down .*: sshd needs root with CAP_SETUID, CAP_SETGID and CAP_SYS_CHROOT; nile runs as uid 10001$/m, status.stdout);
  const doctor = await nile.exec(['doctor'], 30_000, env);
  t.equal(doctor.code, 1, 'nile doctor: a finding');
  t.match(doctor.stdout, /sshd is not running: sshd needs root .*nile runs as uid 10001 \[missing-privilege\]/, doctor.stdout);
  t.match(doctor.stdout, /CapEff: 0+\b/, 'with the capabilities nile has as evidence');
});

t.test('app.user naming another user, for a nile without the privilege to switch: exit 2, the reason', async (t) => {
  const runDir = runDirFor(t);
  const nile = new Nile({ door: 'node', config: { project: 'nouser', type: 'worker', runDir, app: { command: ['sleep', '120'], user: 'nobody' } }, user });
  t.teardown(() => nile.stop());
  if (!t.ok(await settlesWithin(nile.exited, 20_000), 'nile exits at once')) return;
  const exited = await nile.exited;
  t.equal(exited.code, 2, 'exit 2');
  t.match(nile.stderrText.join('\n'), /app\.user: "nobody" is uid 65534 \(gid 65534\), but nile runs as uid 10001 without CAP_SETUID and CAP_SETGID: it cannot start the app as another user/);
});

t.test("app.user naming nile's own user is fine without privileges", async (t) => {
  const runDir = runDirFor(t);
  const nile = new Nile({ door: 'node', config: { project: 'ownuser', type: 'worker', runDir, app: { command: ['sleep', '120'], user: '10001:10001' }, probe: { interval: '200ms' } }, user });
  t.teardown(() => nile.stop());
  await nile.waitPhase('ready', 30_000);
  t.pass('the app runs');
});
