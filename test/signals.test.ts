import t, { type Test } from 'tap';
import { freePort } from './helpers/ports.js';
import { fixtureCommand, Nile } from './helpers/nile.js';

// HotSpot uses SIGUSR2 for its own thread suspension unless told to use another signal.
const jvmEnv = { _JAVA_SR_SIGNUM: '40' };

async function readyNile(t: Test, onTerm: string) {
  const port = await freePort();
  const nile = new Nile({
    door: 'node',
    config: {
      project: 'signals',
      app: { command: fixtureCommand('--port', String(port), '--print-signals', '--on-term', onTerm), env: jvmEnv, stopTimeout: '10s' },
      probe: { http: { port }, interval: '200ms' },
      prestop: { wait: '100ms' },
    },
  });
  t.teardown(() => nile.stop());
  await nile.waitPhase('ready', 30_000);
  return nile;
}


t.test('HUP, QUIT, USR1 and USR2 reach the JVM; TERM stops it and nile exits with its status', async (t) => {
  const nile = await readyNile(t, 'exit:42');
  for (const signal of ['HUP', 'USR1', 'USR2'] as const) {
    nile.signal(`SIG${signal}`);
    await nile.waitFor(`the JVM got ${signal}`, () => nile.stdout.includes(`signal ${signal}`), 10_000);
    t.pass(`${signal} reached the JVM`);
  }
  nile.signal('SIGQUIT');
  await nile.waitFor('a thread dump', () => nile.stdout.some((l) => l.startsWith('Full thread dump')), 10_000);
  t.pass('QUIT reached the JVM (it printed a thread dump)');
  t.equal(nile.proc.exitCode, null, 'nile is still running');
  nile.signal('SIGTERM');
  const exit = await nile.exited;
  t.ok(nile.stdout.includes('signal TERM'), 'TERM reached the JVM');
  t.equal(exit.code, 42, "nile exits with the JVM's status");
});

t.test('INT reaches the JVM as INT and stops it', async (t) => {
  const nile = await readyNile(t, 'exit:7');
  nile.signal('SIGINT');
  const exit = await nile.exited;
  t.ok(nile.stdout.includes('signal INT'), 'INT reached the JVM');
  t.notOk(nile.stdout.includes('signal TERM'), 'and not TERM');
  t.equal(exit.code, 7);
});

t.test('a JVM that dies of signal N makes nile exit 128+N', async (t) => {
  const nile = await readyNile(t, 'kill:KILL');
  nile.signal('SIGTERM');
  const exit = await nile.exited;
  t.equal(exit.code, 137, 'killed by SIGKILL (9) → 137');
});
