// OOM kills from the memory cgroup: the kernel really kills a JVM in a small cgroup, and the
// cgroup files of both versions are read right.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import t from 'tap';
import { findMemoryCgroup, memoryCgroupAt } from '../src/cgroup/find.js';
import { readMemoryState } from '../src/cgroup/memory.js';
import { diagnose } from '../src/doctor/diagnose.js';
import { oomKillCount, oomKillFinding } from '../src/doctor/oom.js';
import { compileDoctorFixtures } from './helpers/jars.js';
import { memoryCgroup, removeCgroup } from './helpers/cgroup.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'nile-doctor-oom-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

async function writeFiles(base: string, files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(base, name)), { recursive: true });
    await writeFile(path.join(base, name), text);
  }
}

t.test('cgroup v2: oom_kill from memory.events, limit from memory.max, peak from memory.peak', async (t) => {
  const cg = path.join(dir, 'v2');
  await writeFiles(cg, {
    'memory.events': 'low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n',
    'memory.max': '268435456\n',
    'memory.peak': '268300288\n',
  });
  t.equal(await oomKillCount(cg), 2);
  t.equal(await oomKillFinding(2, cg), undefined, 'no rise, no finding');
  t.same(await oomKillFinding(1, cg), {
    cause: 'oom-killed',
    summary: "the kernel's OOM killer killed the app: its cgroup reached its limit of 256 MiB",
    evidence: [`${cg}/memory.events: oom_kill 1 → 2`, `${cg}/memory.max: 268435456 (256 MiB)`, `${cg}/memory.peak: 268300288 (255.9 MiB) at the peak`],
  });
  await writeFile(path.join(cg, 'memory.max'), 'max\n');
  t.match((await oomKillFinding(0, cg))!.summary, /\(2 kills\): its cgroup has no limit, so the machine ran out$/);
});

t.test('cgroup v1: a limit set on a parent is the one in force', async (t) => {
  const cg = path.join(dir, 'v1');
  await writeFiles(cg, {
    'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n',
    'memory.limit_in_bytes': '9223372036854771712\n',
    'memory.stat': 'cache 0\nrss 0\nhierarchical_memory_limit 536870912\n',
    'memory.max_usage_in_bytes': '536870912\n',
    'memory.failcnt': '31\n',
  });
  const state = readMemoryState(memoryCgroupAt(cg)!);
  t.same(state, { cgroup: { version: 1, dir: cg }, oomKills: 1, limitBytes: 536870912, peakBytes: 536870912, atLimit: 31 });
  t.equal(memoryCgroupAt(dir), undefined, 'a directory that is no memory cgroup');
});

t.test('the own cgroup is found from /proc/<pid>/cgroup and mountinfo, also when a container sees only its own', async (t) => {
  const fake = path.join(dir, 'proc');
  const mounts = path.join(dir, 'mounts');
  await writeFiles(mounts, { 'memory/memory.oom_control': 'oom_kill 0\n', 'unified/app.slice/memory.events': 'oom_kill 0\n' });
  await writeFiles(fake, {
    'self/cgroup': '4:memory:/docker/0123abcd\n0::/app.slice\n',
    'self/mountinfo': `34 30 0:31 /docker/0123abcd ${mounts}/memory rw,relatime - cgroup cgroup rw,memory\n40 30 0:37 / ${mounts}/unified rw,relatime - cgroup2 cgroup2 rw\n`,
    '7/cgroup': '0::/app.slice\n',
    '7/mountinfo': `40 30 0:37 / ${mounts}/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n`,
  });
  t.same(await findMemoryCgroup('self', fake), { version: 1, dir: `${mounts}/memory` });
  t.same(await findMemoryCgroup(7, fake), { version: 2, dir: `${mounts}/unified/app.slice` });
  t.ok(await findMemoryCgroup(), 'and this machine has one');
});

const { dir: cg, skip: cgroupSkip } = await memoryCgroup('nile-test');
if (!cgroupSkip) t.teardown(() => removeCgroup(cg));

t.test('a JVM over its cgroup memory limit is killed by the kernel, and the OOM kill count says so', { skip: cgroupSkip }, async (t) => {
  await writeFile(path.join(cg, 'memory.limit_in_bytes'), '96M');
  // No swap to escape to, where the kernel lets us say so.
  await writeFile(path.join(cg, 'memory.memsw.limit_in_bytes'), '96M').catch(() => undefined);
  await writeFile(path.join(cg, 'memory.swappiness'), '0').catch(() => undefined);

  const classes = path.join(dir, 'classes');
  await compileDoctorFixtures(classes, ['Hog']);
  const baseline = await oomKillCount(cg);
  t.equal(baseline, 0, 'a new cgroup has no kills');
  // The shell joins the cgroup before it becomes the JVM, so every page the JVM touches counts.
  const child = execa('sh', ['-c', `echo $$ > ${cg}/cgroup.procs && exec java -Xmx512m -cp ${classes} Hog`], { reject: false, all: true, timeout: 60_000 });
  t.teardown(() => {
    child.kill('SIGKILL');
    return child;
  });
  const run = await child;
  t.equal(run.signal, 'SIGKILL', `the kernel killed the JVM: ${run.all}`);

  const finding = await oomKillFinding(baseline!, cg);
  t.equal(finding?.cause, 'oom-killed');
  t.equal(finding?.summary, "the kernel's OOM killer killed the app: its cgroup reached its limit of 96 MiB");
  t.ok(finding?.evidence.includes(`${cg}/memory.oom_control: oom_kill 0 → 1`), JSON.stringify(finding));

  const findings = await diagnose({ signal: run.signal, outputLines: (run.all ?? '').split('\n'), cgroupPath: cg, oomBaseline: baseline });
  t.same(
    findings.map((f) => f.cause),
    ['oom-killed', 'exit-signal'],
  );
});
