import t, { type Test } from 'tap';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execIn } from './helpers/exec.js';
import { FIXTURE_JAR, Nile } from './helpers/nile.js';
import { NILE_NATIVE } from './helpers/paths.js';

// The kubelet's emptyDir mounted at runDir itself: a directory owned by root, mode 0777 (with
// fsGroup: group-owned by it, mode 2777). nile uses it as root and as a user of its own, with and
// without fsGroup, through a private 0700 directory in it that the clients find by the same rule;
// a directory another user puts in its place is never asked.

interface Pod {
  label: string;
  user?: { uid: number; gid: number; groups?: number[] };
  volume: { gid: number; mode: number };
}

const pods: Pod[] = [
  { label: 'as root', volume: { gid: 0, mode: 0o777 } },
  { label: 'as root, with fsGroup', volume: { gid: 2000, mode: 0o2777 } },
  { label: 'as uid 10001', user: { uid: 10001, gid: 10001 }, volume: { gid: 0, mode: 0o777 } },
  { label: 'as uid 10001, with fsGroup', user: { uid: 10001, gid: 10001, groups: [2000] }, volume: { gid: 2000, mode: 0o2777 } },
];

/** A directory as the kubelet makes an emptyDir, under a path only root can change. */
function emptyDir(t: Test, volume: Pod['volume']): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-volume-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  const mount = path.join(dir, 'run');
  mkdirSync(mount);
  chownSync(mount, 0, volume.gid);
  chmodSync(mount, volume.mode);
  return mount;
}

function startNile(t: Test, pod: Pod, runDir: string): Nile {
  // Probed and out of traffic quickly: the volume is the subject here, not the waits.
  const config = { project: 'volume', type: 'worker', runDir, app: { command: ['sleep', '120'], stopTimeout: '2s' }, probe: { interval: '200ms' }, prestop: { wait: '100ms' } };
  const nile = new Nile({ door: 'node', config, user: pod.user });
  t.teardown(() => nile.stop());
  return nile;
}

for (const pod of pods) {
  t.test(`${pod.label}: an emptyDir at runDir (mode ${pod.volume.mode.toString(8)}) works through runDir/private`, async (t) => {
    const runDir = emptyDir(t, pod.volume);
    const nile = startNile(t, pod, runDir);
    await nile.waitPhase('ready', 30_000);
    const own = path.join(runDir, 'private');
    await nile.waitAnswering();
    const st = statSync(own);
    t.equal(st.mode & 0o7777, 0o700, 'runDir/private is 0700');
    t.equal(st.uid, pod.user?.uid ?? 0, "and nile's own");
    t.ok(existsSync(path.join(own, 'control.sock')), 'the control socket is in it');
    t.equal(statSync(runDir).mode & 0o1000, pod.user ? 0 : 0o1000, pod.user ? 'a volume nile does not own keeps its mode' : 'the volume nile owns is made sticky: no other user renames its entries');
    const env = { NILE_RUNDIR: runDir };
    const probe = await nile.exec(['probe'], 15_000, env);
    t.equal(probe.code, 0, `nile probe (node): ${probe.stdout.trim()} ${probe.stderr}`);
    const running = new Set<ChildProcess>();
    const native = await execIn(nile.hostPid(), [...nile.asUser(), NILE_NATIVE, 'probe'], { env: { PATH: process.env.PATH!, NILE_RUNDIR: runDir }, timeoutMs: 15_000, running });
    t.equal(native.code, 0, `nile probe (front door): ${native.stdout.trim()} ${native.stderr}`);
    const status = await nile.exec(['status'], 15_000, env);
    t.equal(status.code, 0, 'nile status');
    t.match(status.stdout, /^ready/, status.stdout);
    const prestop = await nile.exec(['prestop'], 15_000, env);
    t.match(prestop.stdout, /^prestop: out of traffic/, prestop.stdout);
    nile.signal('SIGTERM');
    const exited = await nile.exited;
    t.equal(exited.code, 143, 'TERM: nile stops the app and exits with its status');
  });
}

t.test('in a volume others may rename in, a private directory swapped for another user\'s is never asked', async (t) => {
  const pod = pods[2];
  const runDir = emptyDir(t, pod.volume);
  const nile = startNile(t, pod, runDir);
  await nile.waitPhase('ready', 30_000);
  t.ok(nile.logs.some((l) => /is writable by others without the sticky bit: another user could move nile's directory away/.test(l.msg)), 'nile says what it cannot prevent');
  // uid 65534 shares the volume: without the sticky bit it may rename nile's directory and put its own there.
  const asOther = (command: string) => spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', 'sh', '-c', command], { cwd: runDir, encoding: 'utf8' });
  t.equal(asOther('mv private stolen && mkdir -m 755 private').status, 0, 'the other user swapped runDir/private');
  const asked: string[] = [];
  const fake = net.createServer((socket) => socket.once('data', (line) => (asked.push(line.toString()), socket.end(JSON.stringify({ ok: true, ready: true, reason: 'ready (planted)', done: true }) + '\n'))));
  await new Promise<void>((resolve) => fake.listen(path.join(runDir, 'private', 'control.sock'), resolve));
  t.teardown(() => fake.close());
  const running = new Set<ChildProcess>();
  const env = { NILE_RUNDIR: runDir };
  const probe = await nile.exec(['probe'], 15_000, env);
  t.equal(probe.code, 1, `nile probe (node): ${probe.stdout.trim()}`);
  const native = await execIn(nile.hostPid(), [...nile.asUser(), NILE_NATIVE, 'probe'], { env: { PATH: process.env.PATH!, ...env }, timeoutMs: 15_000, running });
  t.equal(native.code, 1, `nile probe (front door): ${native.stdout.trim()}`);
  t.same(asked, [], 'the planted socket was never asked');
});

t.test('as root, the volume made sticky: another user cannot rename nile\'s directory away', async (t) => {
  const runDir = emptyDir(t, pods[0].volume);
  const nile = startNile(t, pods[0], runDir);
  await nile.waitPhase('ready', 30_000);
  const moved = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', 'mv', path.join(runDir, 'private'), path.join(runDir, 'stolen')], { encoding: 'utf8' });
  t.not(moved.status, 0, `refused: ${moved.stderr.trim()}`);
  t.ok(existsSync(path.join(runDir, 'private', 'control.sock')), 'nile\'s directory stays');
});

t.test('a runDir/private another user planted before nile started is moved aside, not used', async (t) => {
  const pod = pods[2];
  const runDir = emptyDir(t, pod.volume);
  mkdirSync(path.join(runDir, 'private'), { mode: 0o700 });
  chownSync(path.join(runDir, 'private'), 65534, 65534);
  const nile = startNile(t, pod, runDir);
  await nile.waitPhase('ready', 30_000);
  t.equal(statSync(path.join(runDir, 'private')).uid, 10001, "runDir/private is nile's");
  await nile.waitLog((l) => /moved aside/.test(l.msg), 'the move logged');
});

// The JVM's default heap dump folder follows runDir to where nile keeps it: on a volume, runDir/private.
t.test('as root with app.user, on an emptyDir: the heap dump folder is made beside runDir/private, inside the volume', async (t) => {
  const runDir = emptyDir(t, { gid: 0, mode: 0o777 });
  const config = { project: 'volume', type: 'worker', runDir, app: { jar: FIXTURE_JAR, user: 'nobody', stopTimeout: '2s' }, prestop: { wait: '100ms' } };
  const nile = new Nile({ door: 'node', config });
  t.teardown(() => nile.stop());
  const started = await nile.waitLog((l) => l.msg === 'app started', 'app started');
  const folder = path.join(runDir, 'private-heapdumps');
  t.ok((started.command as string[]).includes(`-XX:HeapDumpPath=${folder}/heapdump.hprof`), `the JVM is told ${folder} (${(started.command as string[]).find((a) => a.startsWith('-XX:HeapDumpPath'))})`);
  const nobody = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
  t.ok(existsSync(folder) && statSync(folder).uid === nobody, "and the folder is there, app.user's own");
});
