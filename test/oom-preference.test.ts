// When the container's memory cgroup runs out, the kernel kills the process with the most points: RSS plus
// oom_score_adj × the limit / 1000. nile's agent holds tens of MiB, a JVM early in its start fewer, so
// without a preference the kernel may kill PID 1's agent (seen in a 256 MiB cgroup) and the scene with it.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { Nile } from './helpers/nile.js';

const adj = (pid: number) => Number(readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8').trim());

t.test("the app is the kernel's choice over nile when the container runs out of memory", async (t) => {
  const nile = new Nile({ door: 'node', config: { project: 'oom', type: 'worker', app: { command: ['sleep', '600'] } } });
  t.teardown(() => nile.stop());
  await nile.waitLog((l) => l.msg === 'app started', 'app started');
  const app = nile.appHostPid()!;
  const own = adj(nile.agentHostPid());
  t.equal(adj(app), Math.min(1000, own + 500), `the app's oom_score_adj is nile's (${own}) + 500, at most 1000`);
});
