import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import t, { type Test } from 'tap';
import { Container, exampleNileConfig } from './runc.js';

// The example image under runc, signalled at each instant of its start as the runtime signals PID 1
// (a TERM from the kubelet, a USR1 from anyone allowed): the TERM leads to the normal stop, and no
// SIGUSR1 opens Node's inspector (127.0.0.1:9229 in the pod) at any instant. With no agent
// answering, `nile prestop` waits prestop.wait and `nile doctor` says it could not reach the agent.

const frontDoor = '/opt/nile/build/Release/nile';
const node = '/usr/local/bin/node';
const inspectorPort = 9229;

const exe = (pid: number) => {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return '';
  }
};
const childrenRunning = (pid: number, path: string) => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter((c) => c.trim() && exe(Number(c)) === path).map(Number);
  } catch {
    return [];
  }
};
/** The process running Node's agent: PID 1 itself (a front door that exec'd Node) or its child. */
const agentOf = (pid1: number) => (exe(pid1) === node ? pid1 : (childrenRunning(pid1, node)[0] ?? null));
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

const threadsOf = (pid: number | null) => {
  try {
    return pid ? readdirSync(`/proc/${pid}/task`).length : 0;
  } catch {
    return 0;
  }
};

function config(): Record<string, any> {
  const nile = exampleNileConfig();
  delete nile.registry;
  nile.sshd.enabled = false;
  nile.probe.interval = '300ms';
  nile.prestop.wait = '300ms';
  return nile;
}

const instants: Array<{ name: string; seen: (pid1: number) => boolean }> = [
  { name: 'the front door has run its first instruction', seen: (pid1) => exe(pid1) === node || (exe(pid1) === frontDoor && holdsTerm(pid1)) },
  { name: 'Node has been exec’d', seen: (pid1) => agentOf(pid1) !== null },
  { name: 'Node runs its start (threads up)', seen: (pid1) => threadsOf(agentOf(pid1)) >= 4 },
];

/** PID 1 once runc has exec'd the entrypoint; spun on (bounded), as a poll would miss the first instants. */
async function started(t: Test, name: string): Promise<{ c: Container; pid1: number }> {
  const c = new Container({ name, nile: config() });
  t.teardown(() => c.remove());
  const since = Date.now();
  for (let i = 0; i < 5_000_000 && Date.now() - since < 30_000; i++) {
    const pid1 = c.firstProcess();
    if (pid1 && instants[0].seen(pid1)) return { c, pid1 };
    if (i % 2000 === 1999) await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`${name}: the entrypoint never ran`);
}

async function reach(pid1: number, seen: (pid1: number) => boolean): Promise<void> {
  const since = Date.now();
  for (let i = 0; i < 5_000_000 && Date.now() - since < 30_000; i++) if (seen(pid1)) return;
  throw new Error('instant not reached');
}

for (const instant of instants) {
  t.test(`in the image: a TERM when ${instant.name} leads to the normal stop`, async (t) => {
    const { c, pid1 } = await started(t, 'early-term');
    await reach(pid1, instant.seen);
    process.kill(pid1, 'SIGTERM');
    const stop = await c.waitLog('the TERM taken as a stop', (l) => l.msg === 'stop requested', 30_000);
    t.equal(stop.signal, 'TERM', 'nile took the TERM');
    const exited = await c.exited;
    t.not(exited.code, 137, `the container ended by itself, with the app's status (${exited.code}), not by a KILL`);
  });
}

/** Sockets of the process listening on the inspector's port, from its network namespace's tables. */
function inspectorListeners(pid: number): string[] {
  const inodes = new Set(readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
    try {
      return [/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? ''];
    } catch {
      return [];
    }
  }));
  const port = `:${inspectorPort.toString(16).toUpperCase().padStart(4, '0')}`;
  return ['tcp', 'tcp6']
    .flatMap((file) => readFileSync(`/proc/${pid}/net/${file}`, 'utf8').split('\n').slice(1))
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length > 9 && f[1].endsWith(port) && f[3] === '0A' && inodes.has(f[9]))
    .map((f) => f[1]);
}

t.test('in the image: SIGUSR1 all through the start never opens the inspector; no agent answering: prestop waits, doctor says so', async (t) => {
  const { c, pid1 } = await started(t, 'early-usr1');
  const startedLine = () => c.logs().some((l) => l.msg === 'nile started');
  let sent = 0;
  // One each timer turn (about a millisecond) until nile has started, at most 30,000.
  for (; sent < 30_000 && !startedLine() && c.isRunning(); sent++) {
    process.kill(pid1, 'SIGUSR1');
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  t.ok(startedLine(), `SIGUSR1 came all through the start, until nile had started (${sent} of them)`);
  const agent = agentOf(pid1);
  t.ok(agent, 'the agent runs');
  t.same(inspectorListeners(agent!), [], `nothing listens on ${inspectorPort} in the agent`);
  t.same(inspectorListeners(pid1), [], 'nor in PID 1');
  t.notOk(c.lines.some((l) => /Debugger listening/.test(l.text)), 'Node never said its inspector listens');

  const noAgent = { NILE_RUNDIR: '/tmp/no-agent-here' };
  const prestop = await c.exec(['nile', 'prestop'], { timeoutMs: 30_000, env: noAgent });
  t.equal(prestop.code, 0, `nile prestop with no agent answering: exit 0 (${prestop.stderr.trim().split('\n')[0] ?? ''})`);
  t.match(prestop.stdout, /^prestop: no agent answering \(.+\); waited 300ms\n$/, 'it waited prestop.wait and said so');
  const doctor = await c.exec(['nile', 'doctor'], { timeoutMs: 60_000, env: noAgent });
  t.equal(doctor.code, 1, 'nile doctor with no agent reachable: exit 1');
  t.match(doctor.stderr, /could not reach the agent/, `and says so (${doctor.stderr.trim()})`);
});
