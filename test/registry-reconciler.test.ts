import t, { type Test } from 'tap';
import { pino } from 'pino';
import type { Log } from '../src/log.js';
import type { Backend, BackendStatus, Desired } from '../src/registry/backend.js';
import { backoffDelay } from '../src/registry/backoff.js';
import { describeDesired, drifted, finished, newSlot, nextStep, Reconciler, retargeted, sameDesired, started } from '../src/registry/reconciler.js';
import { registering } from '../src/agent/verdict.js';
import { RegistryRefused } from '../src/registry/backend.js';
import { ManualClock, turns } from './helpers/clock.js';

const present: Desired = { present: true, down: false };
const down: Desired = { present: true, down: true };
const absent: Desired = { present: false };

// Time is the subject here (backoffs, timeouts): every reconciler runs on a manual clock, and a test moves it.

/** A backend whose faults are scripted: fail, hang or throw the next N applies, drift on demand. */
class FakeBackend implements Backend {
  readonly calls: { desired: Desired; at: number }[] = [];
  holds: Desired | undefined;
  failNext = 0;
  hangNext = 0;
  throwNext = 0;
  refuse = false; // failures are refusals, not an unreachable registry
  reached = true;
  gate: Promise<void> | undefined;
  closed = false;
  private readonly listeners: (() => void)[] = [];

  constructor(
    readonly clock: ManualClock,
    readonly name = 'fake',
  ) {}

  apply(desired: Desired): Promise<void> {
    this.calls.push({ desired, at: this.clock.now() });
    if (this.throwNext > 0) {
      this.throwNext--;
      throw new Error('thrown synchronously');
    }
    if (this.hangNext > 0) {
      this.hangNext--;
      return new Promise(() => undefined);
    }
    return this.finish(desired);
  }

  onDrift(listener: () => void): void {
    this.listeners.push(listener);
  }

  drift(): void {
    this.listeners.forEach((listener) => listener());
  }

  status(): BackendStatus {
    return { backend: this.name, state: describeDesired(this.holds), registered: this.holds?.present === true, since: 0 };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private async finish(desired: Desired): Promise<void> {
    if (this.gate) await this.gate;
    if (this.failNext > 0) {
      this.failNext--;
      throw this.refuse ? new RegistryRefused('registry refused') : new Error('registry down');
    }
    this.holds = desired;
  }
}

/** Moves the clock until `backend` was asked `more` times again: the reconciler has been through its failures. */
async function triedAgain(t: Test, backend: FakeBackend, more: number): Promise<void> {
  const target = backend.calls.length + more;
  await turns();
  for (let steps = 0; backend.calls.length < target && steps < 1000; steps++) await backend.clock.pass(5);
  t.ok(backend.calls.length >= target, `${more} more applies`);
}

/** Whether `r` settles before the clock moved `ms` further (0: without the clock moving); its retries run on the way. */
async function settlesWithin(r: Reconciler, clock: ManualClock, ms: number): Promise<boolean> {
  let answer: boolean | undefined;
  void r.settled(ms).then((settled) => (answer = settled));
  await turns();
  for (let passed = 0; answer === undefined && passed <= ms; passed += 5) await clock.pass(5);
  return answer === true;
}

function capturedLog(): { log: Log; lines: () => Record<string, unknown>[] } {
  const raw: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => raw.push(line) });
  return { log, lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

const fast = { backoff: { baseMs: 20, capMs: 80 }, random: () => 1 };

function reconciler(clock: ManualClock, backends: Backend[], opts = {}): Reconciler {
  const r = new Reconciler(backends, pino({ level: 'silent' }), { ...fast, clock, ...opts });
  t.teardown(() => r.close());
  return r;
}

t.test('backoff doubles from the base, stops at the cap, half of it random', async (t) => {
  const policy = { baseMs: 100, capMs: 5000 };
  t.same([1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n, policy, () => 1)), [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
  t.same([1, 2, 8].map((n) => backoffDelay(n, policy, () => 0)), [50, 100, 2500]);
  t.equal(backoffDelay(1000, policy, () => 1), 5000, 'no overflow after many failures');
});

t.test('the decision is pure: idle when held, apply when not, wait while backing off', async (t) => {
  const slot = newSlot();
  t.same(nextStep(slot, present, 0), { kind: 'apply' });
  const busy = started(slot);
  t.same(nextStep(busy, present, 0), { kind: 'idle' }, 'one apply at a time');
  const held = finished(busy, { attempt: busy.attempt, epoch: busy.epoch, desired: present }, 0);
  t.same(held.applied, present);
  t.same(nextStep(held, present, 0), { kind: 'idle' });
  t.same(nextStep(held, down, 0), { kind: 'apply' }, 'a change of down is work');

  const failing = finished(started(held), { attempt: held.attempt + 1, epoch: held.epoch, desired: down, error: 'boom' }, 1000, { baseMs: 100, capMs: 5000 }, () => 1);
  t.equal(failing.failures, 1);
  t.equal(failing.applied, undefined, 'after a failure nothing is known');
  t.same(nextStep(failing, down, 1040), { kind: 'wait', ms: 60 });
  t.same(nextStep(retargeted(failing), absent, 1040), { kind: 'apply' }, 'a new desired state is tried at once');
  t.same(nextStep(drifted(failing), down, 1040), { kind: 'apply' }, 'drift is tried at once');
  t.equal(drifted(failing).failures, 1, 'drift keeps the failure count');
});

t.test('an answer that is not the one in flight changes nothing', async (t) => {
  const first = started(newSlot());
  const timedOut = finished(first, { attempt: first.attempt, epoch: 0, desired: present, error: 'timeout' }, 0);
  t.equal(finished(timedOut, { attempt: first.attempt, epoch: 0, desired: present }, 0), timedOut, 'late answer of an abandoned apply');
  const second = started(timedOut);
  t.equal(finished(second, { attempt: first.attempt, epoch: 0, desired: present }, 0), second, 'answer of an older attempt');
  const driftedMeanwhile = drifted(second);
  const done = finished(driftedMeanwhile, { attempt: second.attempt, epoch: second.epoch, desired: present }, 0);
  t.equal(done.applied, undefined, 'an apply begun before a drift does not count as holding');
  t.same(nextStep(done, present, 0), { kind: 'apply' });
});

t.test('sameDesired compares presence and down', async (t) => {
  t.ok(sameDesired(absent, { present: false }));
  t.ok(sameDesired(present, { present: true, down: false }));
  t.notOk(sameDesired(present, down));
  t.notOk(sameDesired(present, absent));
  t.notOk(sameDesired(undefined, absent));
});

t.test('starts by clearing the registration, then holds what is wanted', async (t) => {
  const clock = new ManualClock();
  const backend = new FakeBackend(clock);
  const r = reconciler(clock, [backend]);
  t.ok(await settlesWithin(r, clock, 0), 'absent at start');
  t.same(backend.holds, absent);
  r.want(present);
  t.equal(backend.calls.length, 1, 'want returns before any apply runs');
  t.ok(await settlesWithin(r, clock, 0));
  t.same(backend.holds, present);
  r.want(present);
  await clock.pass(1000, 50);
  t.equal(backend.calls.length, 2, 'wanting what is held again does nothing');
  t.same(r.status(), [{ backend: 'fake', state: 'registered', registered: true, since: 0 }]);
});

t.test('a failing backend is retried with growing delays until it holds', async (t) => {
  const clock = new ManualClock();
  const backend = new FakeBackend(clock);
  backend.failNext = 4;
  const { log, lines } = capturedLog();
  const r = new Reconciler([backend], log, { ...fast, clock });
  t.teardown(() => r.close());
  r.want(present);
  await turns();
  // Delays with random()=1: 20, 40, 80, 80 (capped); each retry comes when its delay has passed, not a moment before.
  for (const [retry, ms] of [20, 40, 80, 80].entries()) {
    const calls = backend.calls.length;
    await clock.pass(ms - 1, 1);
    t.equal(backend.calls.length, calls, `retry ${retry + 1} not before ${ms} ms`);
    await clock.pass(1);
    t.equal(backend.calls.length, calls + 1, `retry ${retry + 1} at ${ms} ms`);
  }
  t.ok(await settlesWithin(r, clock, 0));
  t.same(backend.holds, present);
  t.same(
    backend.calls.slice(1).map((call, i) => call.at - backend.calls[i].at),
    [20, 40, 80, 80],
  );
  const warnings = lines().filter((line) => line.msg === 'registry update failed; retrying');
  t.equal(warnings.length, 1, 'one warning per kind of failure, not one per retry');
  t.ok(lines().some((line) => line.msg === 'registry reachable again'));
});

t.test('drift triggers an immediate reconcile', async (t) => {
  const clock = new ManualClock();
  const backend = new FakeBackend(clock);
  const r = reconciler(clock, [backend]);
  r.want(present);
  t.ok(await settlesWithin(r, clock, 0));
  backend.holds = undefined;
  const before = backend.calls.length;
  backend.drift();
  t.ok(await settlesWithin(r, clock, 0), 'applied again without the clock moving');
  t.equal(backend.calls.length, before + 1);
  t.same(backend.holds, present);
});

t.test('drift while failing skips the wait', async (t) => {
  const clock = new ManualClock();
  const backend = new FakeBackend(clock);
  backend.failNext = 100;
  const r = reconciler(clock, [backend], { backoff: { baseMs: 5000, capMs: 5000 } });
  r.want(present);
  await turns();
  const before = backend.calls.length;
  t.equal(before, 1, 'failed once, waiting out its backoff');
  backend.failNext = 0;
  backend.drift();
  t.ok(await settlesWithin(r, clock, 0), 'did not wait out the 5 s backoff');
  t.equal(backend.calls.length, before + 1);
});

t.test('a want that comes while an apply is in flight is applied right after it', async (t) => {
  const clock = new ManualClock();
  const backend = new FakeBackend(clock);
  const r = reconciler(clock, [backend]);
  t.ok(await settlesWithin(r, clock, 0));
  let open!: () => void;
  backend.gate = new Promise((resolve) => (open = resolve));
  r.want(present);
  await turns(1);
  r.want(down);
  t.notOk(await settlesWithin(r, clock, 20));
  t.equal(backend.calls.length, 2, 'no second apply while one is in flight');
  backend.gate = undefined;
  open();
  t.ok(await settlesWithin(r, clock, 0));
  t.same(
    backend.calls.map((call) => call.desired),
    [absent, present, down],
  );
  t.same(backend.holds, down);
});

t.test('an apply that hangs is abandoned after applyTimeoutMs and tried again', async (t) => {
  const clock = new ManualClock();
  const backend = new FakeBackend(clock);
  backend.hangNext = 1;
  const r = reconciler(clock, [backend], { applyTimeoutMs: 100 });
  t.notOk(await settlesWithin(r, clock, 95), 'not settled while the apply hangs');
  t.equal(backend.calls.length, 1, 'not abandoned before its timeout');
  t.ok(await settlesWithin(r, clock, 1000));
  t.equal(backend.calls.length, 2);
  t.equal(backend.calls[1].at - backend.calls[0].at, 100 + 20, 'abandoned at 100 ms, tried again after the first backoff');
});

t.test('an apply that throws synchronously is a failure like any other', async (t) => {
  const clock = new ManualClock();
  const backend = new FakeBackend(clock);
  backend.throwNext = 2;
  const r = reconciler(clock, [backend]);
  r.want(present);
  t.ok(await settlesWithin(r, clock, 1000));
  t.same(backend.holds, present);
  t.same(
    backend.calls.map((call) => call.desired),
    [present, present, present],
    'two throws, then the apply that holds',
  );
});

t.test('settled is false at the timeout; one dead backend does not hold up the others', async (t) => {
  const clock = new ManualClock();
  const dead = new FakeBackend(clock, 'dead');
  dead.failNext = Infinity;
  const alive = new FakeBackend(clock, 'alive');
  const r = reconciler(clock, [dead, alive]);
  r.want(present);
  let answer: boolean | undefined;
  void r.settled(300).then((settled) => (answer = settled));
  await clock.pass(299, 1);
  t.equal(answer, undefined, 'still waiting a moment before the timeout');
  await clock.pass(1);
  t.equal(answer, false, 'false at the timeout');
  t.same(alive.holds, present);
  const [deadStatus] = r.status();
  t.equal(deadStatus.lastError, 'registry down', 'status tells why');
});

t.test('close stops the work, answers waiters and closes the backends', async (t) => {
  const clock = new ManualClock();
  const backend = new FakeBackend(clock);
  backend.failNext = Infinity;
  const r = new Reconciler([backend], pino({ level: 'silent' }), { ...fast, clock });
  r.want(present);
  const waiting = r.settled(5000);
  await clock.pass(50, 5);
  await r.close();
  t.equal(await waiting, false);
  t.ok(backend.closed);
  t.equal(clock.pending, 0, 'no timer left behind');
  const calls = backend.calls.length;
  await clock.pass(200, 5);
  t.equal(backend.calls.length, calls, 'no apply after close');
  r.want(absent);
  t.equal(await r.settled(10), false);
});

t.test('pending names the backends that do not hold the registration yet, with their last error', async (t) => {
  const clock = new ManualClock();
  const [zk, consul] = [new FakeBackend(clock, 'zookeeper'), new FakeBackend(clock, 'consul-kv')];
  const r = reconciler(clock, [zk, consul]);
  t.ok(await settlesWithin(r, clock, 0));
  t.equal(r.pending(present), 'zookeeper, consul-kv', 'neither holds it before it is wanted');
  consul.failNext = 100;
  r.want(present);
  t.notOk(await settlesWithin(r, clock, 100), 'not settled while one registry refuses');
  t.same(zk.holds, present, 'applied where the registry answers');
  t.equal(r.pending(present), 'consul-kv: registry down', 'the one that fails, with why');
  consul.failNext = 0;
  t.ok(await settlesWithin(r, clock, 100));
  t.equal(r.pending(present), null, 'null once every backend holds it');
});

// A registry outage must not empty the fleet: Ready needs the registration once after the app becomes ready,
// and a registry that stops answering after that leaves readiness alone.
t.test('once registered, a registry that stops answering keeps readiness; a new time ready needs it again', async (t) => {
  const clock = new ManualClock();
  const backend = new FakeBackend(clock, 'zookeeper');
  const r = reconciler(clock, [backend]);
  r.want(present);
  t.ok(await settlesWithin(r, clock, 0));
  t.equal(registering(r, 'ready'), null, 'registered: nothing to wait for');
  backend.failNext = Infinity;
  backend.holds = undefined;
  const lostAt = clock.now();
  backend.drift();
  await triedAgain(t, backend, 2);
  t.equal(registering(r, 'ready'), null, 'the registry stopped answering: still nothing to wait for');
  t.match(r.status(), [{ backend: 'zookeeper', registered: false, state: 'unreachable', lastError: 'registry down', lost: { reason: 'unreachable', since: lostAt } }], 'the status says it is lost, since when and why');
  await clock.pass(3000);
  t.equal(r.outage(), 'zookeeper unreachable for 3s', 'the probe line counts the outage on the same clock');
  r.want(down);
  r.want(present);
  t.equal(registering(r, 'ready'), 'zookeeper: registry down', 'ready again after not ready: registered again first');
  backend.failNext = 0;
  t.ok(await settlesWithin(r, clock, 100));
  t.equal(registering(r, 'ready'), null, 'back by itself when the registry answers');
  t.notOk(r.status()[0].lost, 'and no longer lost');
});

t.test('a registry that refuses before the first registration holds readiness back; after it, readiness stays and the status says refused', async (t) => {
  const clock = new ManualClock();
  const backend = new FakeBackend(clock, 'consul-kv');
  backend.refuse = true;
  backend.failNext = Infinity;
  const r = reconciler(clock, [backend]);
  r.want(present);
  await triedAgain(t, backend, 2);
  t.equal(registering(r, 'ready'), 'consul-kv: registry refused', 'never registered: not Ready');
  t.match(r.status(), [{ state: 'refused' }]);
  backend.failNext = 0;
  t.ok(await settlesWithin(r, clock, 100));
  backend.failNext = Infinity;
  backend.drift();
  await triedAgain(t, backend, 1);
  t.equal(registering(r, 'ready'), null, 'registered before: Ready stays');
  t.match(r.status(), [{ state: 'refused', lost: { reason: 'refused' } }]);
});

t.test('leaving a registry that was never reached does not wait for it', async (t) => {
  const clock = new ManualClock();
  const backend = new FakeBackend(clock, 'zookeeper');
  backend.reached = false;
  backend.failNext = Infinity;
  const r = reconciler(clock, [backend]);
  r.want(present);
  await triedAgain(t, backend, 1);
  r.want(absent);
  t.ok(await settlesWithin(r, clock, 0), 'settled without the clock moving: nothing of this run can be in a registry it never reached');
});
