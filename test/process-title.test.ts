import { readFileSync } from 'node:fs';
import t from 'tap';
import { Nile } from './helpers/nile.js';

// ps and top read /proc/PID/comm and /proc/PID/cmdline: an operator sees nile and its state, not
// `node` (or Node 24's `MainThread`).

const comm = (pid: number) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');

t.test('PID 1 shows as nile, the agent as nile with the app state', async (t) => {
  const nile = new Nile({ door: 'front', config: { project: 'title', type: 'worker', app: { command: ['sleep', '600'] }, probe: { interval: '200ms' } } });
  t.teardown(() => nile.stop());
  await nile.waitPhase('ready', 30_000);
  const pid1 = nile.hostPid();
  t.equal(comm(pid1), 'nile', 'PID 1 is named nile');
  t.match(cmdline(pid1), /(^|\/)nile run --config /, `its command line is nile's (${cmdline(pid1)})`);
  const agent = nile.agentHostPid();
  await nile.waitFor('the title to follow the app', () => comm(agent) === 'nile: ready', 5000);
  t.equal(comm(agent), 'nile: ready', 'the agent is named for the app state');
  t.equal(cmdline(agent), 'nile: ready', 'and so is its command line');
});
