// Finding the JVM behind the app in /proc, with a real shell and a real JVM; and what the lifecycle
// makes of a JVM that ended under a script which then exited 0.
import { spawn } from 'node:child_process';
import t, { type Test } from 'tap';
import { isJvm, jvmsUnder, scriptRunOf } from '../src/app/jvm.js';
import { exitStatus, initialState, transition, type Policy } from '../src/app/machine.js';
import { reasonOf } from '../src/app/report.js';
import { fixtureCommand } from './helpers/nile.js';
import { childrenOf, readComm } from './helpers/proc.js';
import { settlesWithin, waitFor } from './helpers/wait.js';

/** `sh -c SCRIPT` in its own process group, killed whole at teardown. */
function shell(t: Test, script: string): number {
  const child = spawn('sh', ['-c', script], { stdio: 'ignore', detached: true });
  t.teardown(async () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    await settlesWithin(new Promise((resolve) => child.once('exit', resolve)), 5000);
  });
  return child.pid!;
}

const fixture = fixtureCommand('--never-ready').join(' ');

t.test('a shell running java as a child: the JVM is found under it, the shell is not one', async (t) => {
  const sh = shell(t, `${fixture}; echo ended`);
  const jvm = await waitFor('the JVM under the shell', () => childrenOf(sh).find((pid) => readComm(pid) === 'java'), 30_000);
  t.notOk(isJvm(sh), 'the shell is not a JVM');
  t.ok(isJvm(jvm), 'its child is');
  t.same(jvmsUnder(sh), [jvm]);
  t.same(scriptRunOf(sh), { pid: sh, name: 'sh', jvms: [jvm] });
});

t.test('a shell that execs java is the JVM: no start script', async (t) => {
  const sh = shell(t, `exec ${fixture}`);
  await waitFor('the shell to become java', () => readComm(sh) === 'java', 30_000);
  t.ok(isJvm(sh));
  t.equal(scriptRunOf(sh), null);
});

t.test('a JVM ended under a script exiting 0: a crash with its JVM named, and nile does not exit 0', async (t) => {
  const policy: Policy = { restart: 'never', startTimeout: 60_000, stopTimeout: 30_000, stopSignal: 'TERM', minRunBetweenStarts: 1000 };
  let s = transition(initialState(0), { type: 'boot', at: 0 }, policy).state;
  s = transition(s, { type: 'spawned', pid: 7, at: 1 }, policy).state;
  s = transition(s, { type: 'probe', ok: true, detail: 'http 200', at: 2 }, policy).state;
  const crash = transition(s, { type: 'exited', exit: { code: 0, signal: null }, jvmEnded: 9, at: 3000 }, policy);
  t.equal(crash.state.failure?.kind, 'crashed');
  t.equal(crash.state.failure?.jvmEnded, 9);
  t.match(reasonOf(crash.state.failure!, 60_000), /^app crashed: its JVM \(pid 9\) ended under the start script, which then exited with status 0 after 3\.0s running/);
  t.equal(exitStatus(crash.state.lastExit, crash.state.failure), 1, 'the status nile exits with');
  t.same(crash.effects.filter((e) => e.type === 'exit'), [{ type: 'exit', code: 1 }], 'restart: never ends nile with 1, not 0');
  t.equal(exitStatus({ code: 0, signal: null }), 0, 'a plain exit 0 stays 0');
});
