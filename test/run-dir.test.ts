import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { Nile, cleanEnv } from './helpers/nile.js';
import { NILE_BIN } from './helpers/paths.js';
import { freePort } from './helpers/ports.js';

// runDir is nile's own: one it did not create that another user owns, or that others may write
// into, is refused; the files it writes there never follow a planted symlink.

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

/** nile over a sleeping app, stopped with TERM after a moment unless it refuses to start. */
function runNile(dir: string, runDir: string) {
  const config = path.join(dir, 'nile.yaml');
  writeFileSync(config, stringify({ project: 'rundir', runDir, type: 'worker', app: { workdir: dir, stopTimeout: '1s' } }));
  return spawnSync(process.execPath, [NILE_BIN, 'run', '--config', config, '--', 'sleep', '30'], { env: cleanEnv(), encoding: 'utf8', timeout: 1500, killSignal: 'SIGTERM' });
}

t.test('a runDir owned by another user is refused, and the planted symlink target stays untouched', async (t) => {
  const dir = scratch(t);
  const target = victim(dir);
  const runDir = path.join(dir, 'run');
  mkdirSync(runDir, { mode: 0o700 });
  symlinkSync(target.file, path.join(runDir, 'last-failure.json.new'));
  symlinkSync(target.file, path.join(runDir, 'last-failure.json'));
  chownSync(runDir, 65534, 65534);
  const result = runNile(dir, runDir);
  t.equal(result.status, 2, result.stderr);
  t.match(result.stderr, /runDir .* is owned by uid 65534/);
  t.notMatch(result.stderr, /\n\s+at /, 'no stack trace');
  t.ok(target.untouched(), 'the symlink target is untouched');
});

t.test('a runDir others may write into is refused', async (t) => {
  const dir = scratch(t);
  for (const mode of [0o777, 0o770, 0o1777]) {
    const runDir = path.join(dir, `run-${mode.toString(8)}`);
    mkdirSync(runDir);
    chmodSync(runDir, mode);
    const result = runNile(dir, runDir);
    t.equal(result.status, 2, `mode ${mode.toString(8)}: exit 2`);
    t.match(result.stderr, /is writable by (its group|others)/);
  }
});

t.test('nile makes its runDir 0700, and takes over one of its own', async (t) => {
  const dir = scratch(t);
  const fresh = path.join(dir, 'a', 'run');
  t.not(runNile(dir, fresh).status, 2, 'accepted');
  t.equal(statSync(fresh).mode & 0o777, 0o700);
  const own = path.join(dir, 'own');
  mkdirSync(own, { mode: 0o755 });
  chmodSync(own, 0o755);
  t.not(runNile(dir, own).status, 2, 'accepted');
  t.equal(statSync(own).mode & 0o777, 0o700, 'tightened to 0700');
});

t.test('the failure report is written without following a symlink planted in runDir', async (t) => {
  const dir = scratch(t);
  const target = victim(dir);
  const port = await freePort();
  const nile = new Nile({ config: { project: 'planted', app: { command: ['sh', '-c', 'sleep 0.5; exit 3'] }, probe: { http: { port }, interval: '100ms' } } });
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
