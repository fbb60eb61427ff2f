import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { loadConfig } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';
import { readLimit, readUsage } from '../src/cgroup/memory.js';
import { MemoryWatch } from '../src/memory/watch.js';
import { ManualClock } from './helpers/clock.js';

// The memory watch over cgroup files of both versions, written here: what it reads, when it warns (once per
// crossing), and what it says.

const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-memory-watch-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => writeFileSync(path.join(dir, name), text);
const MiB = 1024 * 1024;

t.test('cgroup v1: usage_in_bytes; a limit set on a parent is the one in force; none at all is no limit', async (t) => {
  const v1 = { version: 1 as const, dir };
  write('memory.usage_in_bytes', `${300 * MiB}\n`);
  write('memory.limit_in_bytes', '9223372036854771712\n');
  write('memory.stat', `cache 0\nhierarchical_memory_limit ${512 * MiB}\n`);
  t.equal(readUsage(v1), 300 * MiB);
  t.equal(readLimit(v1), 512 * MiB);
  write('memory.stat', 'cache 0\nhierarchical_memory_limit 9223372036854771712\n');
  t.equal(readLimit(v1), null);
  write('memory.limit_in_bytes', `${256 * MiB}\n`);
  t.equal(readLimit(v1), 256 * MiB);
});

t.test('cgroup v2: one warning when use passes warnAt, again only after it went back under', async (t) => {
  const loaded = loadConfig({ file: path.join(t.testdir({ 'nile.yaml': 'project: p\nmemory: {warnAt: 80%}\napp: {command: [java, -Xmx300m, -jar, a.jar]}\n' }), 'nile.yaml'), env: {} });
  if (!loaded.ok) throw new Error(loaded.errors.join('; '));
  const lines: Array<{ msg: string; level: number }> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  write('memory.current', `${100 * MiB}\n`);
  write('memory.max', `${400 * MiB}\n`);
  const clock = new ManualClock();
  const watch = (await MemoryWatch.start(loaded.config as Config, log, { cgroup: { version: 2, dir }, everyMs: 3000, clock }))!;
  t.teardown(() => watch.stop());
  watch.onReading(() => {
    throw new Error('a broken follower');
  });
  const taken: number[] = [];
  watch.onReading((r) => taken.push(r.at));
  t.match(watch.status(), { usageBytes: 100 * MiB, limitBytes: 400 * MiB, warnAt: 0.8, above: false, warnedAt: null });
  const warnings = () => lines.filter((l) => l.msg.startsWith('memory: the container uses'));
  write('memory.current', `${330 * MiB}\n`);
  clock.advance(3000);
  write('memory.current', `${340 * MiB}\n`);
  clock.advance(3000);
  t.equal(warnings().length, 1, 'one warning while above');
  t.equal(warnings()[0]!.msg, "memory: the container uses 330 MiB of 400 MiB (82.5 %), above 80 % of its limit; the JVM's memory options: -Xmx300m");
  t.equal(warnings()[0]!.level, 40, 'at WARN');
  t.match(watch.status(), { above: true, warnedAt: /^\d{4}-/ });
  write('memory.current', `${310 * MiB}\n`);
  clock.advance(3000);
  t.equal(lines.filter((l) => l.msg.startsWith('memory: back under')).length, 0, 'just under warnAt is not yet back (no warning per wobble)');
  write('memory.current', `${200 * MiB}\n`);
  clock.advance(3000);
  t.equal(lines.filter((l) => l.msg.startsWith('memory: back under')).length, 1, 'well under: back');
  write('memory.current', `${390 * MiB}\n`);
  clock.advance(3000);
  t.equal(warnings().length, 2, 'over again: warned again');
  write('memory.max', 'max\n');
  clock.advance(3000);
  t.equal(watch.last?.limitBytes, null, 'the limit is followed: none now');
  t.equal(watch.readings.length, 5, 'only the last few readings are kept');
  t.same(taken, [1, 2, 3, 4, 5, 6].map((n) => 1_000_000 + n * 3000), 'one reading every everyMs, at the clock\'s time');
  watch.stop();
  clock.advance(30_000);
  t.equal(taken.length, 6, 'stopped: no more readings');
  t.equal(clock.pending, 0, 'and no timer left');
  t.equal(lines.filter((l) => l.msg === 'memory: a follower of the readings failed').length, 6, 'a follower that throws is reported, and the others and the watch go on');
});

t.test('a cgroup without the files: no watch, said once', async (t) => {
  const lines: Array<{ msg: string }> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const loaded = loadConfig({ file: path.join(t.testdir({ 'nile.yaml': 'project: p\n' }), 'nile.yaml'), env: {} });
  if (!loaded.ok) throw new Error(loaded.errors.join('; '));
  const clock = new ManualClock();
  t.equal(await MemoryWatch.start(loaded.config, log, { cgroup: { version: 2, dir: t.testdir({}) }, everyMs: 20, clock }), null);
  t.equal(clock.pending, 0, 'no timer left to read again');
  t.same(lines.map((l) => l.msg), ['memory: the cgroup cannot be read; the memory watch stops']);
});
