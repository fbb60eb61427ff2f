import t from 'tap';
import { freePort } from './helpers/ports.js';
import { fixtureCommand, Nile } from './helpers/nile.js';
import { sleep } from './helpers/wait.js';

const startTimes = (nile: Nile) => nile.logs.filter((l) => l.msg === 'app started').map((l) => l.time);

t.test('a JVM that crashes after ready is restarted, no sooner than 1 s after its last start', async (t) => {
  const port = await freePort();
  const nile = new Nile({
    config: { project: 'crash', app: { command: fixtureCommand('--port', String(port), '--exit-after', '1500', '--exit-code', '3') }, probe: { http: { port }, interval: '100ms' } },
  });
  t.teardown(() => nile.stop());
  await nile.waitPhase('ready', 30_000);
  const crash = await nile.waitLog((l) => l.msg.startsWith('app crashed'), 'the crash', 30_000);
  t.match(crash.msg, /app crashed: exited with status 3/);
  await nile.waitFor('a second start', () => startTimes(nile).length >= 2, 30_000);
  const [first, second] = startTimes(nile);
  t.ok(second - first >= 1000, `restarted ${second - first} ms after the last start`);
  await nile.waitPhase('ready', 30_000, second);
  t.pass('the restarted JVM became ready again');
});

t.test('a quick crash after ready waits out the rest of the second', async (t) => {
  // A worker is ready once it runs through one probe interval; it then exits 300 ms after start.
  const nile = new Nile({ config: { project: 'quick', type: 'worker', app: { command: ['sh', '-c', 'sleep 0.3; exit 4'] }, probe: { interval: '100ms' } } });
  t.teardown(() => nile.stop());
  await nile.waitFor('three starts', () => startTimes(nile).length >= 3, 20_000);
  const times = startTimes(nile);
  for (let i = 1; i < times.length; i++) {
    const gap = times[i] - times[i - 1];
    t.ok(gap >= 1000 && gap < 1600, `start ${i + 1} came ${gap} ms after the one before (runit's 1 s rule)`);
  }
  t.ok(nile.logs.filter((l) => l.msg.startsWith('app crashed: exited with status 4')).length >= 2, 'each crash reported with its status');
});

t.test('restart: never keeps a crashed app down', async (t) => {
  const nile = new Nile({ config: { project: 'never', type: 'worker', app: { command: ['sh', '-c', 'sleep 0.4; exit 5'], restart: 'never' }, probe: { interval: '100ms' } } });
  t.teardown(() => nile.stop());
  await nile.waitPhase('down', 10_000);
  await sleep(1500);
  t.equal(startTimes(nile).length, 1, 'not started again');
  t.match((await nile.exec(['probe'])).stdout, /not ready: app is down after: app crashed: exited with status 5/);
  nile.signal('SIGTERM');
  t.equal((await nile.exited).code, 5, 'nile exits with the last status of the app');
});

t.test('a restart that then fails to start is a startup failure', async (t) => {
  // Ready on the first run; the second run exits before its first probe tick.
  const marker = `/tmp/nile-second-run-${process.pid}-${Date.now()}`;
  const script = `if [ -e ${marker} ]; then exit 6; fi; touch ${marker}; sleep 0.5; exit 2`;
  const nile = new Nile({ config: { project: 'second', type: 'worker', app: { command: ['sh', '-c', script] }, probe: { interval: '200ms' } } });
  t.teardown(async () => {
    await nile.stop();
    await import('node:fs').then((fs) => fs.rmSync(marker, { force: true }));
  });
  await nile.waitLog((l) => l.msg.startsWith('startup failed: app exited with status 6'), 'the second run fails to start', 20_000);
  await sleep(1500);
  t.equal(startTimes(nile).length, 2, 'and is not started a third time');
  t.match((await nile.exec(['probe'])).stdout, /startup failed: app exited with status 6/);
});

t.test('`nile sv up app` after a failed start starts it again', async (t) => {
  const marker = `/tmp/nile-fixed-${process.pid}-${Date.now()}`;
  // Fails until the developer "fixes" it (the marker file), then runs.
  const script = `[ -e ${marker} ] || exit 1; exec sleep 60`;
  const nile = new Nile({ config: { project: 'fixme', type: 'worker', app: { command: ['sh', '-c', script] }, probe: { interval: '100ms' } } });
  t.teardown(async () => {
    await nile.stop();
    await import('node:fs').then((fs) => fs.rmSync(marker, { force: true }));
  });
  await nile.waitLog((l) => l.msg.startsWith('startup failed'), 'startup failed', 10_000);
  await import('node:fs').then((fs) => fs.writeFileSync(marker, ''));
  const sv = await nile.exec(['sv', 'up', 'app']);
  t.equal(sv.code, 0, `nile sv up app: ${sv.stdout}${sv.stderr}`);
  await nile.waitPhase('ready', 10_000);
  t.equal(startTimes(nile).length, 2, 'started again by hand');
  t.equal((await nile.exec(['probe'])).code, 0);
});
