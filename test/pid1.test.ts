import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { Nile } from './helpers/nile.js';
import { childrenOf, isZombie } from './helpers/proc.js';
import { waitFor } from './helpers/wait.js';

// A shell that leaves 200 orphans behind: each `(cat &)` subshell exits at once, so its cat is
// re-parented to the nearest reaper, nile. The cats wait on a FIFO, so all of them are alive at
// once until the test opens and closes its write end; the shell then exits with 7.
const orphanScript = (fifo: string) => `for i in $(seq 200); do (cat ${fifo} >/dev/null &) ; done; echo spawned; sleep 1; exit 7`;

/** Opens and closes the FIFO's write end until no cat is left waiting on it. */
async function releaseCats(fifo: string, host: number) {
  const waiting = () => childrenOf(host).some((pid) => !isZombie(pid));
  await waitFor('no cat left on the FIFO', () => {
    if (waiting()) spawnSync('timeout', ['1', 'sh', '-c', `: > ${fifo}`]); // blocks until a reader is there, then EOF for all
    return !waiting();
  }, 60_000).catch(() => undefined);
}

async function orphansAreReaped(t: Test, pid1: boolean) {
  const fifo = path.join(mkdtempSync(path.join(os.tmpdir(), 'nile-fifo-')), 'wait');
  execFileSync('mkfifo', [fifo]);
  const nile = new Nile({
    door: 'node',
    pid1,
    // Never probed before the shell exits: a failed start, whose scene (nile, the orphans) is kept.
    config: { project: 'orphans', type: 'worker', app: { command: ['sh', '-c', orphanScript(fifo)] }, probe: { interval: '60s' } },
  });
  t.teardown(async () => {
    if (nile.proc.exitCode === null) await releaseCats(fifo, nile.hostPid());
    await nile.stop();
    rmSync(path.dirname(fifo), { recursive: true, force: true });
  });
  await nile.waitFor('nile running', () => nile.logs.some((l) => l.msg === 'app started'));
  const host = nile.hostPid();
  // The orphans are nile's children for a while: proof they were re-parented to nile and not to someone else.
  const peak = await nile.waitFor('200 orphans re-parented to nile', () => {
    const n = childrenOf(host).length;
    return n >= 200 ? n : false;
  }, 60_000);
  t.ok(peak >= 200, `nile had ${peak} children at once`);
  await releaseCats(fifo, host);
  const failed = await nile.waitPhase('failed', 15_000);
  t.equal((failed as any).was, 'starting', 'the shell ran, then exited');
  const exitLine = await nile.waitLog((l) => l.msg.startsWith('startup failed'), 'the app exit reported');
  t.match(exitLine.msg, /exited with status 7/, 'nile saw its own child exit with 7 (no stolen waitpid)');
  await nile.waitFor('every orphan reaped', () => childrenOf(host).length === 0, 10_000);
  t.same(childrenOf(host).filter(isZombie), [], 'no zombie remains');
  nile.signal('SIGTERM');
  const exit = await nile.exited;
  t.equal(exit.code, 7, 'nile exits with the app status');
}

t.test('as PID 1 in a new PID namespace, every orphan is reaped', (t) => orphansAreReaped(t, true));
t.test('not PID 1: nile becomes a subreaper and reaps them too', (t) => orphansAreReaped(t, false));

