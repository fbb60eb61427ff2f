// A start stuck on locks, dumped for real with SIGQUIT, read back into findings.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import t, { type Test } from 'tap';
import { diagnose } from '../src/doctor/diagnose.js';
import { threadDumpFindings } from '../src/doctor/threads.js';
import { lastThreadDump } from '../src/doctor/threads/dump.js';
import { parseThreadDump } from '../src/doctor/threads/dump.js';
import { compileDoctorFixtures } from './helpers/jars.js';
import { sleep } from './helpers/wait.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'nile-doctor-threads-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
await compileDoctorFixtures(dir, ['Stuck']);

/** Starts Stuck, waits until its threads are stuck, sends SIGQUIT and returns its output up to the heap summary. */
async function dumpStuckStart(t: Test, args: string[]): Promise<string[]> {
  // PrintConcurrentLocks adds the "Locked ownable synchronizers" that name who holds a ReentrantLock.
  const child = execa('java', ['-XX:+PrintConcurrentLocks', '-cp', dir, 'Stuck', ...args], { reject: false, timeout: 60_000 });
  t.teardown(() => {
    child.kill('SIGKILL');
    return child;
  });
  const lines: string[] = [];
  let buffered = '';
  const seen = (want: (line: string) => boolean, what: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within 20 s: ${lines.join('\n')}`)), 20_000);
      const check = () => {
        if (lines.some(want)) {
          clearTimeout(timer);
          child.stdout!.off('data', check);
          resolve();
        }
      };
      child.stdout!.on('data', check);
      check();
    });
  child.stdout!.on('data', (chunk: Buffer) => {
    const parts = (buffered + chunk.toString()).split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
  });
  await seen((l) => l === 'stuck', 'stuck line');
  // main prints "stuck" just before it goes to sleep; give it the moment to get there.
  await sleep(300);
  process.kill(child.pid!, 'SIGQUIT');
  await seen((l) => l === 'Heap', 'end of the thread dump');
  return lines;
}

t.test('a start stuck behind main: main sleeping, one thread blocked on its monitor, one parked on its lock', async (t) => {
  const lines = await dumpStuckStart(t, []);
  const dump = lastThreadDump(lines);
  t.ok(dump?.startsWith('Full thread dump'), 'the dump is found in the output');
  const findings = threadDumpFindings(dump!);
  t.same(
    findings.map((f) => f.cause),
    ['start-timeout'],
  );
  const [stuck] = findings;
  t.equal(stuck!.summary, 'the start timed out: main is sleeping in Stuck.waitForever(Stuck.java:46); 1 thread blocked on a lock held by "main"; 1 thread waiting in app code');
  const evidence = stuck!.evidence.join('\n');
  t.match(evidence, /^"main" TIMED_WAITING \(sleeping\)\n {4}at java\.lang\.Thread\.sleep/m, 'main with its top frames');
  t.match(evidence, /^"config-loader" BLOCKED \(on object monitor\), waiting to lock <0x[0-9a-f]+> \(a java\.lang\.Object\) held by "main"\n {4}at Stuck\.loadConfig/m);
  t.match(
    evidence,
    /^"cache-warmer" WAITING \(parking\), parked on <0x[0-9a-f]+> \(a java\.util\.concurrent\.locks\.ReentrantLock\$NonfairSync\) held by "main"\n {4}at jdk\.internal\.misc\.Unsafe\.park.*\n {4}\.\.\. \d+ JDK frames\n {4}at Stuck\.warmCache/m,
    'a parked thread, its JDK frames skipped to the app code',
  );
  t.notMatch(evidence, /Finalizer|Reference Handler|Common-Cleaner/, 'idle JVM threads are left out');
});

t.test('a deadlock the JVM found is its own finding, first', async (t) => {
  const lines = await dumpStuckStart(t, ['deadlock']);
  const findings = await diagnose({ outputLines: lines, threadDump: lastThreadDump(lines), cgroupPath: dir });
  t.same(
    findings.map((f) => f.cause),
    ['deadlock', 'start-timeout'],
  );
  t.equal(findings[0]!.summary, 'threads "left-first" and "right-first" are deadlocked');
  t.match(findings[0]!.evidence[0], /^"left-first": waiting to lock monitor 0x[0-9a-f]+ \(object 0x[0-9a-f]+, a java\.lang\.Object\), which is held by "right-first"$/);
  t.match(findings[1]!.summary, /; 3 threads blocked on a lock held by "main", "right-first", "left-first"; 1 thread waiting in app code$/);
});

t.test('the parser keeps Java threads only and reads the JDK 21 header', async (t) => {
  const dump = parseThreadDump(
    [
      'Full thread dump OpenJDK 64-Bit Server VM (21.0.2+13-58 mixed mode, sharing):',
      '',
      '"main" #1 [7] prio=5 os_prio=0 cpu=120.00ms elapsed=5.00s tid=0x00007f nid=7 waiting on condition  [0x00007f]',
      '   java.lang.Thread.State: WAITING (parking)',
      '\tat jdk.internal.misc.Unsafe.park(java.base@21.0.2/Native Method)',
      '\t- parking to wait for  <0x0000000712345678> (a java.util.concurrent.CountDownLatch$Sync)',
      '\tat com.example.App.awaitReady(App.java:40)',
      '',
      '"GC Thread#0" os_prio=0 cpu=1.00ms elapsed=5.00s tid=0x00007f nid=8 runnable',
      '',
      'JNI global refs: 4, weak refs: 0',
    ].join('\n'),
  );
  t.same(dump.threads.map((th) => [th.name, th.state, th.frames.length]), [['main', 'WAITING (parking)', 2]]);
  t.same(dump.deadlocks, []);
});
