import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { rssMiB } from './bench/proc.js';
import { flood } from './helpers/hostile.js';
import { startPod } from './helpers/kubelet.js';
import { fixtureCommand } from './helpers/nile.js';
import { freePort } from './helpers/ports.js';

// Idle connections flooding the metrics port of an agent whose open-file limit is 1024 (a common default): the
// control socket still answers and the app can still be restarted (spawned) while the flood lasts, and the agent's
// memory stays put.

const crowdSize = 5000; // several times the open-file limit
const mostRssMiB = 200; // the agent's RSS under the flood stays below this

t.test('a flood of idle connections to the metrics port takes neither the control socket nor the spawn', async (t) => {
  const appPort = await freePort();
  const metricsPort = await freePort();
  const pod = await startPod(t, {
    door: 'front',
    name: 'flood',
    nile: {
      project: 'flood',
      type: 'web',
      app: { command: fixtureCommand('--port', String(appPort)), stopTimeout: '5s' },
      probe: { http: { port: appPort }, interval: '300ms' },
      metrics: { port: metricsPort, listen: '127.0.0.1' },
      prestop: { wait: '100ms' },
    },
    readinessProbe: null,
  });
  await pod.nile.waitPhase('ready', 60_000);
  await promisify(execFile)('prlimit', ['--pid', String(pod.hostPid()), '--nofile=1024:1024']);
  const before = rssMiB(pod.hostPid());

  const crowd = await flood(metricsPort, crowdSize);
  t.teardown(() => crowd.close());
  let most = rssMiB(pod.hostPid());
  const probe = await pod.execInPod(['nile', 'probe'], 20_000);
  t.equal(probe.code, 0, `nile probe answers during the flood: ${probe.stdout.trim() || probe.stderr.trim()}`);
  const restartedAt = Date.now();
  const restart = await pod.execInPod(['nile', 'sv', 'restart', 'app'], 30_000);
  t.equal(restart.code, 0, `nile sv restart app works during the flood: ${restart.stdout.trim() || restart.stderr.trim()}`);
  await pod.nile.waitPhase('ready', 60_000, restartedAt);
  most = Math.max(most, rssMiB(pod.hostPid()));
  t.pass('the app was spawned again and is ready');
  t.same(pod.nile.logs.filter((l) => JSON.stringify(l).includes('EMFILE')), [], 'no EMFILE anywhere in the log');
  t.ok(most < mostRssMiB, `the agent's RSS: ${before.toFixed(1)} MiB before, ${most.toFixed(1)} MiB at most during the flood (bound ${mostRssMiB} MiB)`);
  t.comment(`flood of ${crowdSize}: ${crowd.open()} still open at the end, ${crowd.closed()} closed by the agent; RSS ${before.toFixed(1)} → ${most.toFixed(1)} MiB`);
});
