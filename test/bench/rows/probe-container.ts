// The readiness probe's fleet cost in the built image under runc, on the image's Node: the kubelet's
// `httpGet` on probe.serve (GET /ready) against the exec probe (`runc exec … nile probe`), each with
// its caller's CPU and the agent's CPU per answer, as one pod-hour at a 2 s period. The exec's caller
// is `runc exec` with what it runs (wait4's rusage, the runtime's share of an exec); the GET's is a
// client in the pod's network namespace, one fresh connection a GET, as the kubelet's prober makes them.

import { Container, builtImage, exampleNileConfig, runcRoot } from '../../oci/runc.js';
import type { Context } from '../context.js';
import { run } from '../processes.js';
import { type Row } from '../report.js';
import { describe, summarize, type Summary } from '../stats.js';
import { agentCpuPerProbe, burstOf, callsInTurns, probesPerHour } from './probe.js';

const readyPort = 9103; // the pod's own network namespace: no other user of it

// GETs /ready COUNT times after WARMUP, one connection each, and prints its own CPU per GET in ms.
const getClient = `const http = require('node:http');
const [port, count, warmup] = process.argv.slice(1).map(Number);
const get = () => new Promise((resolve, reject) => http.get({ host: '127.0.0.1', port, path: '/ready', agent: false, headers: { connection: 'close' } }, (res) => res.resume().on('end', resolve)).on('error', reject));
(async () => {
  for (let i = 0; i < warmup; i++) await get();
  const before = process.cpuUsage();
  for (let i = 0; i < count; i++) await get();
  const used = process.cpuUsage(before);
  process.stdout.write(String((used.user + used.system) / 1000 / count));
})();`;

export async function probeContainerRows(ctx: Context): Promise<Row[]> {
  const image = builtImage();
  const nile = exampleNileConfig();
  delete nile.registry;
  nile.sshd.enabled = false;
  nile.probe.serve = { port: readyPort, listen: '127.0.0.1' };
  const c = new Container({ name: 'bench-probe', nile });
  try {
    const pid1 = await c.started();
    await c.waitFor('the app ready', async () => (await c.exec(['nile', 'probe'])).code === 0, 60_000);
    const agent = await c.waitFor('the agent', () => c.agentPid(), 10_000);
    const runcExec = (command: string[]) => ['runc', '--root', runcRoot, 'exec', c.id, ...command];
    const callers = await callsInTurns(ctx, { probe: runcExec(['nile', 'probe']), true: runcExec(['/bin/true']) });
    const [execCaller, trueCaller] = [summarize(callers.probe.cpu), summarize(callers.true.cpu)];
    const agentExec = await agentCpuPerProbe(ctx, agent, () => run(ctx.natives.runs, [String(burstOf(ctx)), '--', ...runcExec(['nile', 'probe'])]));
    const getCaller: number[] = [];
    const agentGet = await agentCpuPerProbe(ctx, agent, async () => {
      getCaller.push(Number(await run('nsenter', ['-t', String(pid1), '-n', '--', process.execPath, '-e', getClient, String(readyPort), String(burstOf(ctx)), '3'])));
    });
    const getClientCpu = summarize(getCaller);
    const perHour = (caller: Summary, agentCpu: Summary) => ((caller.median + agentCpu.median) * probesPerHour) / 1000;
    const exec = perHour(execCaller, agentExec);
    const get = perHour(getClientCpu, agentGet);
    return [
      {
        figure: `fleet cost of the readiness probe in the container (Node ${image.node}): CPU per pod-hour at a 2 s period, httpGet on \`probe.serve\` against exec \`nile probe\` (caller + agent)`,
        nile: `${get.toFixed(2)} s with httpGet`,
        baseline: `${exec.toFixed(1)} s with exec (runc exec nile probe)`,
        comparison: `${(get / exec).toFixed(2)}×`,
        target: 'report',
        met: null,
        note: `(caller CPU median + agent CPU median) × ${probesPerHour} probes an hour. httpGet: the GET's client ${describe(getClientCpu, 'ms', 3)} (Node ${process.version}'s http in the pod's network namespace: the kubelet's Go prober is its stand-in) + the agent ${describe(agentGet, 'ms', 3)}; exec: runc exec with nile probe ${describe(execCaller, 'ms')} (runc exec /bin/true: ${describe(trueCaller, 'ms')}) + the agent ${describe(agentExec, 'ms', 3)}; containerd's and the kubelet's own share of an exec is not counted. Per 1,000 pods: ${((get * 1000) / 3600).toFixed(3)} cores with httpGet, ${((exec * 1000) / 3600).toFixed(2)} with exec`,
        data: { get, exec, getClientCpu, agentGet, execCaller, trueCaller, agentExec },
      },
    ];
  } finally {
    await c.remove();
  }
}
