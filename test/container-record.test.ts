import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Phase } from '../src/app/machine.js';
import { previousKillFinding } from '../src/doctor/killed.js';
import type { MemoryReading } from '../src/cgroup/reading.js';
import { worthWriting } from '../src/record/keeper.js';
import { atStart } from '../src/record/previous.js';
import { readRecord, recordFile, writeRecord, type ContainerRecord } from '../src/record/record.js';

// The pure decision at start, from the record the previous container left (hold or start), and what
// the doctor makes of a killed container's record; then the record file itself.

const MiB = 1024 * 1024;
const reading = (usageMiB: number, limitMiB: number | null, counts?: MemoryReading['counts'], at = Date.parse('2026-01-01T00:00:10Z')): MemoryReading => ({
  at,
  usageBytes: usageMiB * MiB,
  limitBytes: limitMiB === null ? null : limitMiB * MiB,
  ...(counts ? { counts } : {}),
});

function record(phase: Phase, over: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    nile: { pid: 1, startedAt: '2026-01-01T00:00:00.000Z' },
    app: { phase, since: '2026-01-01T00:00:01.000Z', pid: phase === 'down' || phase === 'failed' ? null : 7, startedAt: '2026-01-01T00:00:01.000Z' },
    failure: null,
    memory: { cgroup: '/sys/fs/cgroup', readings: [reading(120, 256), reading(248.3, 256)] },
    output: ['Starting demo-web'],
    held: null,
    ended: null,
    at: '2026-01-01T00:00:12.000Z',
    ...over,
  };
}

t.test('previous record → hold or start', async (t) => {
  const killedStarting = record('starting');
  const rows: Array<[string, ContainerRecord | null, { hold: boolean; how?: string; reason?: string | RegExp }]> = [
    ['no record (the first container of the pod)', null, { hold: false }],
    ['nile exited while the app was starting (SIGTERM)', record('starting', { ended: { at: '2026-01-01T00:00:13.000Z', code: 143 } }), { hold: false, how: 'exited' }],
    ['nile exited after a failed start', record('failed', { failure: 'startup failed: app exited with status 1', ended: { at: 'x', code: 1 } }), { hold: false, how: 'exited' }],
    ['killed while the app was starting', killedStarting, { hold: true, how: 'killed', reason: 'the previous container was killed while the app was starting; memory was 97 % of the limit at the last reading; nile sv up app starts it' }],
    ['killed while starting, no limit', record('starting', { memory: { cgroup: null, readings: [reading(300, null)] } }), { hold: true, reason: /; memory was 300 MiB at the last reading \(no limit\);/ }],
    ['killed while starting before any reading', record('starting', { memory: { cgroup: null, readings: [] } }), { hold: true, reason: /starting; nile had no memory reading;/ }],
    ['killed while a failed start was kept', record('failed', { failure: 'startup failed: not ready within 3m0s (thread dump taken, app left running)' }), { hold: true, reason: /^the previous container was killed while it kept the app's failed start \(startup failed: not ready within 3m0s .*\); memory was 97 %/ }],
    ['killed while holding: held again, for the first kill', record('failed', { failure: 'the previous container was killed …', held: killedStarting, memory: { cgroup: null, readings: [reading(60, 256)] } }), { hold: true, reason: /^the previous container was killed while the app was starting; memory was 97 %/ }],
    ['killed after the app was ready', record('ready'), { hold: false, how: 'killed' }],
    ['killed while not ready after being ready', record('notReady'), { hold: false, how: 'killed' }],
    ['killed while restarting after a crash', record('restarting'), { hold: false, how: 'killed' }],
    ['killed while the app was down (sv down)', record('down'), { hold: false, how: 'killed' }],
    ['killed while stopping', record('stopping'), { hold: false, how: 'killed' }],
  ];
  for (const [what, previous, want] of rows) {
    const got = atStart(previous);
    t.equal(got.hold, want.hold, `${what}: ${want.hold ? 'hold' : 'start'}`);
    if (want.how) t.equal(got.previous?.how, want.how, `${what}: the end is ${want.how}`);
    if (want.reason && got.hold) typeof want.reason === 'string' ? t.equal(got.reason, want.reason, what) : t.match(got.reason, want.reason, what);
  }
  const again = atStart(record('failed', { held: killedStarting }));
  t.equal(again.previous?.evidence, killedStarting, 'the evidence of a container killed while holding is the first kill');
});

t.test('memory readings are written at each reading while starting or high, else once a minute', async (t) => {
  const at = 1_000_000;
  t.equal(worthWriting(reading(10, 256, undefined, at), 'starting', at - 1000, 0.9), true, 'starting');
  t.equal(worthWriting(reading(240, 256, undefined, at), 'ready', at - 1000, 0.9), true, 'above warnAt');
  t.equal(worthWriting(reading(100, 256, undefined, at), 'ready', at - 1000, 0.9), false, 'ready and low: not yet');
  t.equal(worthWriting(reading(100, 256, undefined, at), 'ready', at - 60_000, 0.9), true, 'a minute after the last write');
  t.equal(worthWriting(reading(100, null, undefined, at), 'ready', at - 1000, 0.9), false, 'no limit: never high');
});

t.test("the doctor's finding from a killed container's record: OOM when the readings or the counts say so", async (t) => {
  const file = '/run/nile/container-record.json';
  const finding = (r: ContainerRecord, now?: Parameters<typeof previousKillFinding>[3]) => previousKillFinding(atStart(r).previous!, file, 0.9, now);

  const high = finding(record('starting'))!;
  t.equal(high.cause, 'container-oom-killed', 'the last reading at 97 % of the limit');
  t.equal(high.summary, "the previous container was killed while the app was starting, by the look of it by the kernel's OOM killer taking the whole container (memory.oom.group): nile's last reading: 248.3 MiB of 256 MiB (97 %), at or above 90 % of the limit");
  t.same(high.evidence.slice(0, 2), [`${file}: the app was starting (pid 7) since 2026-01-01T00:00:01.000Z; nile's last record at 2026-01-01T00:00:12.000Z; nile did not exit`, "nile's memory reading at 2026-01-01T00:00:10.000Z: 120 MiB of 256 MiB (46.9 %)"]);

  const counted = record('starting', { memory: { cgroup: '/sys/fs/cgroup', readings: [reading(100, 256, { atLimit: 0, oomKills: 0, groupKills: 0 }), reading(150, 256, { atLimit: 14, oomKills: 0, groupKills: 0 })] } });
  const atLimit = finding(counted)!;
  t.equal(atLimit.cause, 'container-oom-killed', 'usage hit the limit during the start (memory.events max)');
  t.match(atLimit.summary, /: times at the limit \(memory\.events max, memory\.failcnt\) 0 → 14 during its last readings$/);
  t.ok(atLimit.evidence.includes("nile's memory reading at 2026-01-01T00:00:10.000Z: 150 MiB of 256 MiB (58.6 %); times at the limit 14, oom_kill 0, oom_group_kill 0"), atLimit.evidence.join('\n'));

  const low = record('starting', { memory: { cgroup: '/sys/fs/cgroup', readings: [reading(100, 256, { oomKills: 0, groupKills: 0 })] } });
  t.equal(finding(low)!.cause, 'container-killed', 'low memory, no counts: killed, not for its memory');
  t.match(finding(low)!.summary, /^the previous container was killed while the app was starting \(nile did not exit\); not for its memory as far as nile saw \(nile's last reading: 100 MiB of 256 MiB \(39.1 %\)\): the pod's events say by whom/);
  const sameCgroup = finding(low, { dir: '/sys/fs/cgroup', counts: { oomKills: 0, groupKills: 1 } })!;
  t.equal(sameCgroup.cause, 'container-oom-killed', 'the same cgroup now counts a group kill since the last reading');
  t.match(sameCgroup.summary, /: oom_group_kill 0 → 1 since its last reading$/);
  t.equal(finding(low, { dir: '/sys/fs/cgroup/other', counts: { oomKills: 0, groupKills: 1 } })!.cause, 'container-killed', "another cgroup's counts say nothing of it");

  t.match(finding(record('ready'))!.summary, /^the previous container was killed after the app was ready, by the look of it/, 'after ready');
  t.equal(previousKillFinding(atStart(record('starting', { ended: { at: 'x', code: 0 } })).previous!, file, 0.9), undefined, 'an exit is no kill');
});

t.test('the record in runDir: written whole, 0600, never through a symlink; a torn or foreign one is read as none', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-record-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o700);
  t.same(readRecord(dir), { record: null }, 'none yet');
  const r = record('starting');
  writeRecord(dir, r);
  t.equal(statSync(recordFile(dir)).mode & 0o777, 0o600, 'mode 0600');
  t.same(readRecord(dir), { record: r }, 'read back');

  writeFileSync(recordFile(dir), readFileSync(recordFile(dir), 'utf8').slice(0, 40));
  t.match(readRecord(dir), { record: null, unreadable: /JSON/ }, 'a torn record: none, and why');
  writeFileSync(recordFile(dir), '{"app": 1}');
  t.same(readRecord(dir), { record: null, unreadable: 'not a record nile wrote' });
  writeFileSync(recordFile(dir), 'x'.repeat(300 * 1024));
  t.match(readRecord(dir), { record: null, unreadable: /^over \d+ bytes$/ }, 'too large: not read');

  rmSync(recordFile(dir));
  const elsewhere = path.join(dir, 'elsewhere.json');
  writeFileSync(elsewhere, JSON.stringify(r));
  symlinkSync(elsewhere, recordFile(dir));
  t.match(readRecord(dir), { record: null, unreadable: 'ELOOP' }, 'a symlink planted in its place is not followed');
  writeRecord(dir, record('ready'));
  t.equal(JSON.parse(readFileSync(elsewhere, 'utf8')).app.phase, 'starting', "writing replaces the link, the link's target is untouched");
});
