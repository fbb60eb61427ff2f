import type { Finding } from '../control/protocol.cjs';
import { threadDumpMaxBytes } from '../app/thread-dump.js';
import { readAppFile } from './log-files.js';
import { lastThreadDump, parseThreadDump, type JavaThread, type Monitor } from './threads/dump.js';

const MAX_THREADS = 8;
const MAX_FRAMES = 5;
const JDK_FRAME = /^(java|javax|jdk|sun|com\.sun)\./;
// What a thread parks on when it waits for a lock, a latch or a result, rather than for work.
const LOCK_LIKE = /ReentrantLock|ReentrantReadWriteLock|CountDownLatch|Semaphore|FutureTask|CompletableFuture|\$(Nonfair|Fair)Sync/;

/** The kept thread dump (runDir/thread-dump.txt), read within the bound it was written to (and its notes). */
export async function readThreadDump(file: string): Promise<string | undefined> {
  const read = await readAppFile(file, { maxBytes: threadDumpMaxBytes + 1024 * 1024, from: 'start' });
  return read?.bytes.toString('utf8');
}

/**
 * What the threads of a start that timed out were doing: main wherever it is, threads blocked on a
 * lock (and who holds it), threads waiting in app code, and any deadlock the JVM found. The text may
 * hold output around the dump (the capture file): the last dump in it is read.
 */
export function threadDumpFindings(dumpText: string): Finding[] {
  const dump = parseThreadDump(lastThreadDump(dumpText.split('\n')) ?? dumpText);
  const findings: Finding[] = [];
  if (dump.deadlocks.length > 0) findings.push(deadlockFinding(dump.deadlocks, dump.threads));
  const main = dump.threads.find((t) => t.name === 'main');
  const stuck = dump.threads.filter((t) => t !== main && looksStuck(t));
  const shown = [...(main ? [main] : []), ...stuck].slice(0, MAX_THREADS);
  const evidence = shown.flatMap((t) => describeThread(t, dump.threads));
  if (shown.length === 0) evidence.push(`${dump.threads.length} threads, none of them blocked or waiting in app code`);
  findings.push({ cause: 'start-timeout', summary: startSummary(main, stuck, dump.threads), evidence });
  return findings;
}

function looksStuck(thread: JavaThread): boolean {
  if (thread.state.startsWith('BLOCKED')) return true;
  if (!/WAITING/.test(thread.state) || !thread.frames.some((f) => !JDK_FRAME.test(f))) return false;
  return Boolean(thread.waitingOn) || Boolean(thread.parkedOn && LOCK_LIKE.test(thread.parkedOn.className));
}

function startSummary(main: JavaThread | undefined, stuck: JavaThread[], all: JavaThread[]): string {
  const parts = [main ? `main is ${activity(main)} in ${topFrame(main)}` : `the thread dump shows no main thread (${count(all.length, 'thread')})`];
  const blocked = stuck.filter((t) => t.waitingToLock);
  if (blocked.length > 0) {
    const holders = [...new Set(blocked.map((t) => holderOf(t.waitingToLock!, t, all)?.name).filter(Boolean))];
    parts.push(`${count(blocked.length, 'thread')} blocked on a lock${holders.length ? ` held by ${holders.map((h) => `"${h}"`).join(', ')}` : ''}`);
  }
  const waiting = stuck.length - blocked.length;
  if (waiting > 0) parts.push(`${count(waiting, 'thread')} waiting in app code`);
  const pools = appThreadGroups(all.filter((t) => t !== main && !stuck.includes(t)));
  if (pools.length > 0) parts.push(pools.slice(0, 2).map((g) => `${count(g.threads.length, 'thread')} "${g.name}" ${activity(g.threads[0]!)} in ${g.frame}`).join(', '));
  return `the start timed out: ${parts.join('; ')}`;
}

// The JVM's own threads say nothing about the app.
const JVM_THREAD = /^(Reference Handler|Finalizer|Signal Dispatcher|Common-Cleaner|Notification Thread|Attach Listener|Service Thread|Monitor Deflation Thread|Sweeper thread|process reaper|DestroyJavaVM|C[12] CompilerThread\d+|GC Thread.*|VM .*)$/;

/** The app's own threads, grouped by name (numbers made `*`) and the frame they wait in, largest group first. */
function appThreadGroups(threads: JavaThread[]): Array<{ name: string; frame: string; threads: JavaThread[] }> {
  const groups = new Map<string, { name: string; frame: string; threads: JavaThread[] }>();
  for (const thread of threads) {
    if (JVM_THREAD.test(thread.name) || thread.frames.length === 0) continue;
    const name = thread.name.replace(/\d+/g, '*');
    const frame = topFrame(thread);
    const key = `${name} ${frame}`;
    const group = groups.get(key) ?? { name, frame, threads: [] };
    group.threads.push(thread);
    groups.set(key, group);
  }
  return [...groups.values()].sort((a, b) => b.threads.length - a.threads.length);
}

function deadlockFinding(stanzas: string[], all: JavaThread[]): Finding {
  const names = [...new Set(stanzas.map((s) => /^"(.*?)":/.exec(s)?.[1]).filter((n): n is string => Boolean(n)))];
  const threads = names.map((n) => all.find((t) => t.name === n)).filter((t): t is JavaThread => Boolean(t));
  return {
    cause: 'deadlock',
    summary: `threads ${names.map((n) => `"${n}"`).join(' and ')} are deadlocked`,
    evidence: [...stanzas, ...threads.flatMap((t) => describeThread(t, all))],
  };
}

function describeThread(thread: JavaThread, all: JavaThread[]): string[] {
  return [`"${thread.name}" ${thread.state}${waitDetail(thread, all)}`, ...topFrames(thread.frames)];
}

// The top frames, skipping JDK frames between the top one and the app's own code, which says more.
function topFrames(frames: string[]): string[] {
  const app = frames.findIndex((f) => !JDK_FRAME.test(f));
  const at = (f: string) => `    at ${f}`;
  if (app < MAX_FRAMES) return frames.slice(0, MAX_FRAMES).map(at);
  return [at(frames[0]!), `    ... ${app - 1} JDK frames`, ...frames.slice(app, app + MAX_FRAMES - 1).map(at)];
}

function waitDetail(thread: JavaThread, all: JavaThread[]): string {
  const [verb, monitor] = thread.waitingToLock
    ? ['waiting to lock', thread.waitingToLock]
    : thread.parkedOn
      ? ['parked on', thread.parkedOn]
      : thread.waitingOn
        ? ['waiting on', thread.waitingOn]
        : [undefined, undefined];
  if (!verb || !monitor) return '';
  const holder = holderOf(monitor, thread, all);
  return `, ${verb} <${monitor.address}> (a ${monitor.className})${holder ? ` held by "${holder.name}"` : ''}`;
}

function holderOf(monitor: Monitor, waiter: JavaThread, all: JavaThread[]): JavaThread | undefined {
  return all.find((t) => t !== waiter && t.holds.some((h) => h.address === monitor.address));
}

function activity(thread: JavaThread): string {
  const state = thread.state;
  if (/\(sleeping\)/.test(state)) return 'sleeping';
  if (state.startsWith('BLOCKED')) return 'blocked on a lock';
  if (/\(parking\)/.test(state)) return 'parked waiting';
  if (/on object monitor/.test(state)) return 'waiting on a monitor';
  if (state === 'RUNNABLE') return 'running';
  return state;
}

// The first frame of the app's own code says more than Thread.sleep or Unsafe.park.
function topFrame(thread: JavaThread): string {
  return thread.frames.find((f) => !JDK_FRAME.test(f)) ?? thread.frames[0] ?? 'no Java frame';
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
