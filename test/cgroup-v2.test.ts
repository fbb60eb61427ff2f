import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { findMemoryCgroup } from '../src/cgroup/find.js';
import { readLimit, readMemoryState, readOomCounts, readUsage } from '../src/cgroup/memory.js';
import { loadConfig } from '../src/config/load.js';
import { oomKillFinding } from '../src/doctor/oom.js';
import { MemoryWatch } from '../src/memory/watch.js';

// cgroup v2 as the kernel lays it out in a Kubernetes container on a v2 node (containerd, a private
// cgroup namespace): /proc/self/cgroup is `0::/`, /sys/fs/cgroup is the container's own cgroup mounted
// as cgroup2, with memory.max, memory.current, memory.peak and memory.events (oom_kill, oom_group_kill).
// This machine's memory controller is v1, so the files are written here as such a container shows them.

const root = mkdtempSync(path.join(os.tmpdir(), 'nile-cgroup-v2-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const MiB = 1024 * 1024;

function container(events: string): { proc: string; cgroup: string } {
  const proc = path.join(root, 'proc');
  const cgroup = path.join(root, 'sys/fs/cgroup');
  mkdirSync(path.join(proc, 'self'), { recursive: true });
  mkdirSync(cgroup, { recursive: true });
  writeFileSync(path.join(proc, 'self/cgroup'), '0::/\n');
  writeFileSync(
    path.join(proc, 'self/mountinfo'),
    [
      `1046 1045 0:312 / / rw,relatime master:372 - overlay overlay rw,lowerdir=/var/lib/containerd/l1,upperdir=/var/lib/containerd/u1,workdir=/var/lib/containerd/w1`,
      `1051 1046 0:316 / ${root}/sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs ro`,
      `1052 1051 0:30 / ${cgroup} ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate,memory_recursiveprot`,
      `1060 1046 259:1 /var/lib/kubelet/pods/6f0c/volumes/kubernetes.io~empty-dir/run /run/nile rw,relatime - ext4 /dev/nvme0n1p1 rw`,
      '',
    ].join('\n'),
  );
  const files: Record<string, string> = {
    'cgroup.controllers': 'cpu io memory hugetlb pids rdma misc\n',
    'cgroup.type': 'domain\n',
    'memory.current': `${Math.round(248.3 * MiB)}\n`,
    'memory.max': `${256 * MiB}\n`,
    'memory.high': 'max\n',
    'memory.peak': `${255 * MiB}\n`,
    'memory.oom.group': '1\n',
    'memory.swap.max': '0\n',
    'memory.events': events,
    'memory.events.local': events,
    'memory.stat': 'anon 251658240\nfile 4096\nkernel 1048576\n',
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(cgroup, name), text);
  return { proc, cgroup };
}

t.test('the container cgroup is found from 0::/ and the cgroup2 mount, and read as v2', async (t) => {
  const { proc, cgroup } = container('low 0\nhigh 0\nmax 41\noom 2\noom_kill 1\noom_group_kill 1\n');
  const found = findMemoryCgroup('self', proc);
  t.same(found, { version: 2, dir: cgroup });
  t.equal(readUsage(found!), Math.round(248.3 * MiB), 'usage: memory.current');
  t.equal(readLimit(found!), 256 * MiB, 'limit: memory.max');
  t.same(readOomCounts(found!), { oomKills: 1, atLimit: 41, groupKills: 1 }, 'memory.events: oom_kill, max, oom_group_kill');
  t.same(readMemoryState(found!), { cgroup: found, usageBytes: Math.round(248.3 * MiB), limitBytes: 256 * MiB, peakBytes: 255 * MiB, oomKills: 1, atLimit: 41, groupKills: 1 });
  writeFileSync(path.join(cgroup, 'memory.max'), 'max\n');
  t.equal(readLimit(found!), null, '"max": no limit');
});

t.test('a kernel before oom_group_kill (5.17) reads without it', async (t) => {
  const { proc } = container('low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n');
  t.same(readOomCounts(findMemoryCgroup('self', proc)!), { oomKills: 0, atLimit: 0 });
});

t.test('the doctor quotes a group kill from memory.events', async (t) => {
  const { cgroup } = container('low 0\nhigh 0\nmax 41\noom 2\noom_kill 2\noom_group_kill 1\n');
  const finding = await oomKillFinding(0, cgroup);
  t.equal(finding?.summary, "the kernel's OOM killer killed the app (2 kills): its cgroup reached its limit of 256 MiB");
  t.ok(finding?.evidence.includes(`${cgroup}/memory.events: oom_group_kill 1 (the whole container killed at once)`), finding?.evidence.join('\n') ?? 'no finding');
});

t.test('the memory watch reads usage, limit and the OOM counts through the cgroup module', async (t) => {
  const { proc } = container('low 0\nhigh 0\nmax 3\noom 0\noom_kill 0\noom_group_kill 0\n');
  const loaded = loadConfig({ file: path.join(t.testdir({ 'nile.yaml': 'project: p\napp: {command: [java, -jar, a.jar]}\n' }), 'nile.yaml'), env: {} });
  if (!loaded.ok) throw new Error(loaded.errors.join('; '));
  const watch = (await MemoryWatch.start(loaded.config, pino({ level: 'silent' }), { cgroup: findMemoryCgroup('self', proc), everyMs: 60_000 }))!;
  t.teardown(() => watch.stop());
  t.match(watch.last, { usageBytes: Math.round(248.3 * MiB), limitBytes: 256 * MiB, counts: { atLimit: 3, oomKills: 0, groupKills: 0 } });
  t.match(watch.status(), { above: true }, 'above 90 % of the limit');
});
