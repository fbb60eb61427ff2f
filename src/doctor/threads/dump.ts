// A HotSpot thread dump ("Full thread dump", from SIGQUIT, jstack or jcmd Thread.print) as data.

export interface Monitor {
  address: string; // 0x000000069ec197c0
  className: string; // java.lang.Object
}

export interface JavaThread {
  name: string;
  state: string; // BLOCKED (on object monitor), TIMED_WAITING (sleeping), RUNNABLE, ...
  frames: string[]; // com.example.App.main(App.java:12)
  waitingToLock?: Monitor; // blocked entering a synchronized block
  parkedOn?: Monitor; // waiting for a java.util.concurrent lock, latch or future
  waitingOn?: Monitor; // in Object.wait()
  holds: Monitor[]; // monitors and ownable synchronizers it holds
}

export interface ThreadDump {
  threads: JavaThread[];
  deadlocks: string[]; // "Found one Java-level deadlock" stanzas, one line per thread
}

const HEADER = /^"(.*)" (?:#\d+ )?(?:\[\d+\] )?(?:daemon )?(?:prio|os_prio)=/;
const STATE = /^\s+java\.lang\.Thread\.State: (.+)$/;
const FRAME = /^\s+at (.+)$/;
const MONITOR = /^\s+- (waiting to lock|parking to wait for|waiting on|locked|waiting to re-lock in wait\(\))\s+<(0x[0-9a-f]+)> \(a (.+)\)$/;
const OWNABLE = /^\s+- <(0x[0-9a-f]+)> \(a (.+)\)$/;
const END_OF_THREADS = /^(JNI global refs|Found (one|\d+) Java-level deadlocks?:)/;

/** The last thread dump in some output, from its "Full thread dump" line to the heap summary after it. */
export function lastThreadDump(lines: string[]): string | undefined {
  let start = -1;
  for (let i = lines.length - 1; i >= 0 && start < 0; i--) if (lines[i]!.includes('Full thread dump')) start = i;
  if (start < 0) return undefined;
  const end = lines.findIndex((line, i) => i > start && line === 'Heap');
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

export function parseThreadDump(text: string): ThreadDump {
  const lines = text.split(/\r?\n/);
  const threads: JavaThread[] = [];
  let current: JavaThread | undefined;
  let i = 0;
  for (; i < lines.length && !END_OF_THREADS.test(lines[i]!); i++) {
    const line = lines[i]!;
    const header = HEADER.exec(line);
    if (header) {
      current = { name: header[1]!, state: '', frames: [], holds: [] };
      threads.push(current);
      continue;
    }
    if (current) readThreadLine(current, line);
  }
  // VM-internal threads (GC, compiler) have no Java state and nothing to say about a stuck start.
  return { threads: threads.filter((t) => t.state), deadlocks: readDeadlocks(lines.slice(i)) };
}

function readThreadLine(thread: JavaThread, line: string): void {
  const state = STATE.exec(line);
  if (state) thread.state = state[1]!;
  const frame = FRAME.exec(line);
  if (frame) thread.frames.push(frame[1]!);
  const monitor = MONITOR.exec(line);
  if (monitor) {
    const seen = { address: monitor[2]!, className: monitor[3]! };
    if (monitor[1] === 'waiting to lock') thread.waitingToLock = seen;
    else if (monitor[1] === 'parking to wait for') thread.parkedOn = seen;
    else if (monitor[1] === 'locked') thread.holds.push(seen);
    else thread.waitingOn = seen;
    return;
  }
  const ownable = OWNABLE.exec(line);
  if (ownable) thread.holds.push({ address: ownable[1]!, className: ownable[2]! });
}

// The summary part of each deadlock report: `"t1":` then indented lines until a blank line.
function readDeadlocks(lines: string[]): string[] {
  const stanzas: string[] = [];
  let inReport = false;
  let stanza: string[] = [];
  const flush = () => {
    if (stanza.length > 0) stanzas.push(stanza.join(' '));
    stanza = [];
  };
  for (const line of lines) {
    if (/^Found (one|\d+) Java-level deadlocks?:/.test(line)) inReport = true;
    else if (/^Java stack information for the threads listed above/.test(line)) inReport = false;
    if (inReport && (/^".*":$/.test(line) || /^\s+\S/.test(line))) stanza.push(line.trim());
    else flush();
  }
  flush();
  return stanzas;
}
