import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import t, { type Test } from 'tap';
import { Nile } from './helpers/nile.js';
import { childrenOf } from './helpers/proc.js';
import { NILE_NATIVE } from './helpers/paths.js';

// nile as the image starts it (the front door as PID 1 of a PID namespace), signalled at each
// instant of its start: a TERM is never lost (it leads to the normal stop), a HUP reaches the
// app, and no SIGUSR1, however early, opens Node's inspector (127.0.0.1:9229) in nile.

const node = realpathSync(process.execPath);
const frontDoor = realpathSync(NILE_NATIVE);
const inspectorPort = 9229;
// The app: says it got HUP, and exits 42 on TERM.
const app = ['sh', '-c', 'trap "echo got HUP" HUP; trap "exit 42" TERM; echo up; while :; do sleep 1 & wait; done'];

function exe(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return '';
  }
}

/** The process running Node's agent: nile itself, or the front door's child. */
function agentOf(pid1: number): number | null {
  if (exe(pid1) === node) return pid1;
  return childrenOf(pid1).find((pid) => exe(pid) === node) ?? null;
}

// The first instant an exec'd program can hold a signal is its first instruction: until then the
// kernel drops a TERM to a PID 1 without a handler, whatever that program would do (the runtime
// does not block signals across its exec of the entrypoint).
const holdsTerm = (pid: number) => {
  try {
    return (BigInt(`0x${/^SigBlk:\s+(\w+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '0'}`) & (1n << 14n)) !== 0n;
  } catch {
    return false;
  }
};

const threadsOf = (pid: number) => {
  try {
    return readdirSync(`/proc/${pid}/task`).length;
  } catch {
    return 0;
  }
};

// The instants of a start, in order; the early ones seen in /proc by a bounded spin (a poll would miss them).
type Instant = { name: string; seen: (nile: Nile, pid1: number) => boolean };
const instants: Instant[] = [
  { name: 'the front door has run its first instruction', seen: (_, pid1) => exe(pid1) === node || (exe(pid1) === frontDoor && holdsTerm(pid1)) },
  { name: 'Node has been exec’d', seen: (_, pid1) => agentOf(pid1) !== null },
  { name: 'Node runs its start (threads up)', seen: (_, pid1) => threadsOf(agentOf(pid1) ?? 0) >= 4 },
  { name: 'the app was spawned', seen: (nile) => nile.logs.some((l) => l.msg === 'app started') },
  { name: 'nile has started', seen: (nile) => nile.logs.some((l) => l.msg === 'nile started') },
];

/** PID 1's host pid, as soon as unshare's child exists. */
function spinForPid1(nile: Nile): number {
  for (let i = 0; i < 1_000_000; i++) {
    const kids = childrenOf(nile.proc.pid!);
    if (kids.length === 1) return kids[0];
  }
  throw new Error('no PID 1 after a million looks');
}

/** Spins (bounded) on the early instants, seen in /proc; waits on the log for the later ones. */
async function reach(nile: Nile, pid1: number, instant: Instant): Promise<void> {
  if (instants.indexOf(instant) >= 3) return void (await nile.waitFor(instant.name, () => instant.seen(nile, pid1), 20_000));
  const started = Date.now();
  for (let i = 0; i < 2_000_000 && Date.now() - started < 20_000; i++) if (instant.seen(nile, pid1)) return;
  throw new Error(`${instant.name}: not reached`);
}

function startNile(t: Test, name: string): { nile: Nile; pid1: number } {
  const nile = new Nile({ door: 'front', config: { project: name, type: 'worker', app: { command: app, stopTimeout: '5s' }, prestop: { wait: '0s' } } });
  t.teardown(() => nile.stop());
  return { nile, pid1: spinForPid1(nile) };
}

for (const instant of instants) {
  t.test(`a TERM when ${instant.name} leads to the normal stop`, async (t) => {
    const { nile, pid1 } = startNile(t, 'early-term');
    await reach(nile, pid1, instant);
    process.kill(pid1, 'SIGTERM');
    const stopped = await nile.waitLog((l) => l.msg === 'stop requested', 'the TERM taken as a stop', 20_000);
    t.equal(stopped.signal, 'TERM', 'nile took the TERM');
    const exit = await nile.exited;
    t.ok(exit.code === 42 || exit.code === 143, `nile exited with the app's status (${exit.code}: 42 from its trap, or 143 before the trap was in)`);
  });
}

for (const instant of instants.slice(0, 2)) {
  t.test(`a HUP when ${instant.name} reaches the app`, async (t) => {
    const { nile, pid1 } = startNile(t, 'early-hup');
    await reach(nile, pid1, instant);
    process.kill(pid1, 'SIGHUP');
    // Forwarded as soon as the app runs: before or after the app's own trap is in.
    await nile.waitFor('the app got HUP', () => nile.stdout.includes('got HUP') || nile.logs.some((l) => /SIGHUP/.test(l.msg)), 20_000);
    t.pass('the HUP was not lost');
  });
}

/** Sockets listening on the inspector's port that belong to the process. */
function inspectorListeners(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const port = inspectorPort.toString(16).toUpperCase().padStart(4, '0');
  return ['tcp', 'tcp6']
    .flatMap((file) => readFileSync(`/proc/${pid}/net/${file}`, 'utf8').split('\n').slice(1))
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length > 9 && f[1].endsWith(`:${port}`) && f[3] === '0A' && inodes.has(f[9]))
    .map((f) => f[1]);
}

t.test('SIGUSR1 sent again and again from the first instant of the start never opens the inspector', async (t) => {
  const { nile, pid1 } = startNile(t, 'early-usr1');
  await reach(nile, pid1, instants[0]);
  let sent = 0;
  // One each timer turn (about a millisecond) until nile has started, at most 20,000: each instant of the start gets one.
  for (; sent < 20_000 && !instants[4].seen(nile, pid1); sent++) {
    process.kill(pid1, 'SIGUSR1');
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  t.ok(instants[4].seen(nile, pid1), `SIGUSR1 came all through the start, until nile had started (${sent} of them)`);
  const agent = agentOf(pid1)!;
  t.same(inspectorListeners(agent), [], `nothing listens on ${inspectorPort} in the agent`);
  t.same(inspectorListeners(pid1), [], `nor in PID 1`);
  t.notOk(nile.stderrText.some((l) => /Debugger listening/.test(l)), 'Node never said its inspector listens');
  t.equal(nile.proc.exitCode, null, 'nile is still running');
});
