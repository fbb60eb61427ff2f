import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { execIn } from './helpers/exec.js';
import { Nile, cleanEnv } from './helpers/nile.js';
import { NILE_BIN, NILE_NATIVE } from './helpers/paths.js';
import { freePort } from './helpers/ports.js';
import { waitFor } from './helpers/wait.js';

// runDir is nile's own: one it did not create that another user owns, or under a directory another
// user owns, is refused; the files it writes there never follow a planted symlink; and no client
// asks a control socket in a directory another user could have put there.

function scratch(t: Test): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-rundir-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A file another user would like root to overwrite. */
function victim(dir: string): { file: string; untouched: () => boolean } {
  const file = path.join(dir, 'victim');
  writeFileSync(file, 'precious\n');
  return { file, untouched: () => readFileSync(file, 'utf8') === 'precious\n' };
}

/** nile over a sleeping app: its exit when it refuses to start, else TERM once its control socket is up. */
async function runNile(t: Test, dir: string, runDir: string): Promise<{ status: number | null; stderr: string }> {
  const config = path.join(dir, 'nile.yaml');
  writeFileSync(config, stringify({ project: 'rundir', runDir, type: 'worker', app: { workdir: dir, stopTimeout: '1s' } }));
  const nile = spawn(process.execPath, [NILE_BIN, 'run', '--config', config, '--', 'sleep', '30'], { env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => nile.kill('SIGKILL'));
  let stderr = '';
  nile.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => nile.on('exit', (code) => resolve(code)));
  const up = () => [runDir, path.join(runDir, 'private')].some((d) => existsSync(path.join(d, 'control.sock')));
  await waitFor('nile to refuse or to be up', () => nile.exitCode !== null || up(), 30_000);
  nile.kill('SIGTERM');
  return { status: await exited, stderr };
}

t.test('a runDir owned by another user is refused, and the planted symlink target stays untouched', async (t) => {
  const dir = scratch(t);
  const target = victim(dir);
  const runDir = path.join(dir, 'run');
  mkdirSync(runDir, { mode: 0o700 });
  symlinkSync(target.file, path.join(runDir, 'last-failure.json.new'));
  symlinkSync(target.file, path.join(runDir, 'last-failure.json'));
  chownSync(runDir, 65534, 65534);
  const result = await runNile(t, dir, runDir);
  t.equal(result.status, 2, result.stderr);
  t.match(result.stderr, /runDir .* is owned by uid 65534/);
  t.notMatch(result.stderr, /\n\s+at /, 'no stack trace');
  t.ok(target.untouched(), 'the symlink target is untouched');
});

t.test('a runDir under a directory another user owns is refused: that user could swap it', async (t) => {
  const dir = scratch(t);
  const theirs = path.join(dir, 'theirs');
  mkdirSync(theirs, { mode: 0o755 });
  chownSync(theirs, 65534, 65534);
  const result = await runNile(t, dir, path.join(theirs, 'run'));
  t.equal(result.status, 2, result.stderr);
  t.match(result.stderr, /runDir .*theirs\/run: .*theirs is owned by uid 65534/);
  t.notOk(existsSync(path.join(theirs, 'run')), 'nothing was made there');
});

t.test('a runDir another user swapped for a directory of theirs, with a control.sock: no client asks it', async (t) => {
  const dir = scratch(t);
  const theirs = path.join(dir, 'theirs');
  mkdirSync(theirs, { mode: 0o755 });
  // The other user's socket answers every verb as a ready, drained agent would.
  const asked: string[] = [];
  const fake = net.createServer((socket) =>
    socket.once('data', (line) => {
      asked.push(line.toString().trim());
      socket.end(JSON.stringify({ ok: true, ready: true, reason: 'ready (planted)', done: true, text: 'planted\n' }) + '\n');
    }),
  );
  await new Promise<void>((resolve) => fake.listen(path.join(theirs, 'control.sock'), resolve));
  t.teardown(() => fake.close());
  chownSync(path.join(theirs, 'control.sock'), 65534, 65534);
  chownSync(theirs, 65534, 65534);
  const runDir = path.join(dir, 'run');
  symlinkSync(theirs, runDir); // the swap
  const config = path.join(dir, 'nile.yaml');
  writeFileSync(config, stringify({ project: 'swapped', runDir, type: 'worker', prestop: { wait: '200ms' } }));
  const running = new Set<ChildProcess>();
  const env = { ...cleanEnv(), NILE_RUNDIR: runDir, NILE_CONFIG: config };
  for (const [client, nile] of [['node', [process.execPath, NILE_BIN]], ['the front door', [NILE_NATIVE]]] as const) {
    const probe = await execIn(null, [...nile, 'probe'], { env, timeoutMs: 20_000, running });
    t.equal(probe.code, 1, `${client}: nile probe is not ready: ${probe.stdout.trim()}`);
    t.notMatch(probe.stdout, /planted/, `${client}: the planted answer is not taken`);
    const prestop = await execIn(null, [...nile, 'prestop'], { env, timeoutMs: 20_000, running });
    t.match(prestop.stdout, /no agent answering \(runDir .* is owned by uid 65534.*waited 200ms/, `${client}: prestop waits prestop.wait instead: ${prestop.stdout.trim()}`);
    const status = await execIn(null, [...nile, 'status'], { env, timeoutMs: 20_000, running });
    t.equal(status.code, 1, `${client}: nile status: ${status.stderr.trim()}`);
  }
  t.same(asked, [], 'the planted socket was never asked');
});

t.test('nile makes its runDir 0700, takes over one of its own, and uses a private directory in a volume others may write', async (t) => {
  const dir = scratch(t);
  const fresh = path.join(dir, 'a', 'run');
  t.not((await runNile(t, dir, fresh)).status, 2, 'accepted');
  t.equal(statSync(fresh).mode & 0o777, 0o700);
  const own = path.join(dir, 'own');
  mkdirSync(own, { mode: 0o755 });
  chmodSync(own, 0o755);
  t.not((await runNile(t, dir, own)).status, 2, 'accepted');
  t.equal(statSync(own).mode & 0o777, 0o700, 'tightened to 0700');
  for (const mode of [0o777, 0o770, 0o2777, 0o1777]) {
    const volume = path.join(dir, `volume-${mode.toString(8)}`);
    mkdirSync(volume);
    chmodSync(volume, mode);
    t.not((await runNile(t, dir, volume)).status, 2, `mode ${mode.toString(8)}: accepted`);
    t.equal(statSync(path.join(volume, 'private')).mode & 0o7777, 0o700, `mode ${mode.toString(8)}: runDir/private is 0700`);
    t.equal(statSync(volume).mode & 0o7777, mode | 0o1000, `mode ${mode.toString(8)}: the volume nile owns is made sticky, its other bits kept`);
  }
});

t.test('the failure report is written without following a symlink planted in runDir', async (t) => {
  const dir = scratch(t);
  const target = victim(dir);
  const port = await freePort();
  const nile = new Nile({ door: 'node', config: { project: 'planted', app: { command: ['sh', '-c', 'sleep 0.5; exit 3'] }, probe: { http: { port }, interval: '100ms' } } });
  t.teardown(() => nile.stop());
  // Planted while nile starts: runDir exists by the time the app runs.
  await nile.waitLog((l) => l.msg === 'app started', 'app started', 20_000);
  symlinkSync(target.file, path.join(nile.runDir, 'last-failure.json.new'));
  await nile.waitPhase('failed', 20_000);
  await nile.waitFor('the report', () => existsSync(path.join(nile.runDir, 'last-failure.json')), 10_000);
  t.ok(target.untouched(), 'the symlink target is untouched');
  t.ok(statSync(path.join(nile.runDir, 'last-failure.json')).isFile(), 'the report is a file of its own');
  t.equal(statSync(path.join(nile.runDir, 'last-failure.json')).mode & 0o777, 0o600);
});
