import t from 'tap';
import { pino } from 'pino';
import type { Log } from '../src/log.js';
import type { Backend, BackendStatus, Desired } from '../src/registry/backend.js';
import { backoffDelay } from '../src/registry/backoff.js';
import { describeDesired, drifted, finished, newSlot, nextStep, Reconciler, retargeted, sameDesired, started } from '../src/registry/reconciler.js';
import { registering } from '../src/agent/verdict.js';
import { RegistryRefused } from '../src/registry/backend.js';
import { sleep, waitFor } from './helpers/wait.js';

const present: Desired = { present: true, down: false };
const down: Desired = { present: true, down: true };
const absent: Desired = { present: false };

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

  constructor(readonly name = 'fake') {}

  apply(desired: Desired): Promise<void> {
    this.calls.push({ desired, at: Date.now() });
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

/** Wait until `backend` was asked `more` times again: the reconciler has been through its failures. */
const triedAgain = (backend: FakeBackend, more: number) => {
  const target = backend.calls.length + more;
  return waitFor(`${more} more applies`, () => backend.calls.length >= target, 2000, { everyMs: 5 });
};

function capturedLog(): { log: Log; lines: () => Record<string, unknown>[] } {
  const raw: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => raw.push(line) });
  return { log, lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

const fast = { backoff: { baseMs: 20, capMs: 80 }, random: () => 1 };

function reconciler(backends: Backend[], opts = {}): Reconciler {
  const r = new Reconciler(backends, pino({ level: 'silent' }), { ...fast, ...opts });
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
  const backend = new FakeBackend();
  const r = reconciler([backend]);
  t.ok(await r.settled(1000), 'absent at start');
  t.same(backend.holds, absent);
  r.want(present);
  t.equal(backend.calls.length, 1, 'want returns before any apply runs');
  t.ok(await r.settled(1000));
  t.same(backend.holds, present);
  r.want(present);
  await sleep(50);
  t.equal(backend.calls.length, 2, 'wanting what is held again does nothing');
  t.same(r.status(), [{ backend: 'fake', state: 'registered', registered: true, since: 0 }]);
});

t.test('a failing backend is retried with growing delays until it holds', async (t) => {
  const backend = new FakeBackend();
  backend.failNext = 4;
  const { log, lines } = capturedLog();
  const r = new Reconciler([backend], log, fast);
  t.teardown(() => r.close());
  r.want(present);
  t.ok(await r.settled(3000));
  t.same(backend.holds, present);
  const gaps = backend.calls.slice(1).map((call, i) => call.at - backend.calls[i].at);
  t.equal(backend.calls.length, 5);
  // Delays with random()=1: 20, 40, 80, 80 (capped); timers may fire a little late, never early.
  [20, 40, 80, 80].forEach((ms, i) => t.ok(gaps[i] >= ms - 2 && gaps[i] < ms + 200, `retry ${i + 1} after ${gaps[i]} ms (want ~${ms})`));
  const warnings = lines().filter((line) => line.msg === 'registry update failed; retrying');
  t.equal(warnings.length, 1, 'one warning per kind of failure, not one per retry');
  t.ok(lines().some((line) => line.msg === 'registry reachable again'));
});

t.test('drift triggers an immediate reconcile', async (t) => {
  const backend = new FakeBackend();
  const r = reconciler([backend]);
  r.want(present);
  t.ok(await r.settled(1000));
  backend.holds = undefined;
  const before = backend.calls.length;
  const at = Date.now();
  backend.drift();
  t.ok(await r.settled(1000));
  t.equal(backend.calls.length, before + 1);
  t.ok(backend.calls[before].at - at < 50, 'applied again at once');
  t.same(backend.holds, present);
});

t.test('drift while failing skips the wait', async (t) => {
  const backend = new FakeBackend();
  backend.failNext = 100;
  const r = reconciler([backend], { backoff: { baseMs: 5000, capMs: 5000 } });
  r.want(present);
  await sleep(50);
  const before = backend.calls.length;
  backend.failNext = 0;
  backend.drift();
  t.ok(await r.settled(500), 'did not wait out the 5 s backoff');
  t.equal(backend.calls.length, before + 1);
});

t.test('a want that comes while an apply is in flight is applied right after it', async (t) => {
  const backend = new FakeBackend();
  const r = reconciler([backend]);
  t.ok(await r.settled(1000));
  let open!: () => void;
  backend.gate = new Promise((resolve) => (open = resolve));
  r.want(present);
  await new Promise((resolve) => setImmediate(resolve));
  r.want(down);
  await sleep(20);
  t.equal(backend.calls.length, 2, 'no second apply while one is in flight');
  t.notOk(await r.settled(20));
  backend.gate = undefined;
  open();
  t.ok(await r.settled(1000));
  t.same(backend.calls.map((call) => call.desired), [absent, present, down]);
  t.same(backend.holds, down);
});

t.test('an apply that hangs is abandoned after applyTimeoutMs and tried again', async (t) => {
  const backend = new FakeBackend();
  backend.hangNext = 1;
  const r = reconciler([backend], { applyTimeoutMs: 100 });
  t.notOk(await r.settled(80), 'not settled while the apply hangs');
  t.ok(await r.settled(1000));
  t.equal(backend.calls.length, 2);
  t.ok(backend.calls[1].at - backend.calls[0].at >= 100);
});

t.test('an apply that throws synchronously is a failure like any other', async (t) => {
  const backend = new FakeBackend();
  backend.throwNext = 2;
  const r = reconciler([backend]);
  r.want(present);
  t.ok(await r.settled(2000));
  t.same(backend.holds, present);
  t.same(
    backend.calls.map((call) => call.desired),
    [present, present, present],
    'two throws, then the apply that holds',
  );
});

t.test('settled is false at the timeout; one dead backend does not hold up the others', async (t) => {
  const dead = new FakeBackend('dead');
  dead.failNext = Infinity;
  const alive = new FakeBackend('alive');
  const r = reconciler([dead, alive]);
  r.want(present);
  const at = Date.now();
  t.equal(await r.settled(300), false);
  t.ok(Date.now() - at >= 290, 'waited the whole timeout');
  t.same(alive.holds, present);
  const [deadStatus] = r.status();
  t.equal(deadStatus.lastError, 'registry down', 'status tells why');
});

t.test('close stops the work, answers waiters and closes the backends', async (t) => {
  const backend = new FakeBackend();
  backend.failNext = Infinity;
  const r = new Reconciler([backend], pino({ level: 'silent' }), fast);
  r.want(present);
  const waiting = r.settled(5000);
  await sleep(50);
  await r.close();
  t.equal(await waiting, false);
  t.ok(backend.closed);
  const calls = backend.calls.length;
  await sleep(200);
  t.equal(backend.calls.length, calls, 'no apply after close');
  r.want(absent);
  t.equal(await r.settled(10), false);
});

t.test('pending names the backends that do not hold the registration yet, with their last error', async (t) => {
  const [zk, consul] = [new FakeBackend('zookeeper'), new FakeBackend('consul-kv')];
  const r = reconciler([zk, consul]);
  t.ok(await r.settled(1000));
  t.equal(r.pending(present), 'zookeeper, consul-kv', 'neither holds it before it is wanted');
  consul.failNext = 100;
  r.want(present);
  t.notOk(await r.settled(100), 'not settled while one registry refuses');
  t.same(zk.holds, present, 'applied where the registry answers');
  t.equal(r.pending(present), 'consul-kv: registry down', 'the one that fails, with why');
  consul.failNext = 0;
  t.ok(await r.settled(2000));
  t.equal(r.pending(present), null, 'null once every backend holds it');
});

// A registry outage must not empty the fleet: Ready needs the registration once after the app becomes ready,
// and a registry that stops answering after that leaves readiness alone.
t.test('once registered, a registry that stops answering keeps readiness; a new time ready needs it again', async (t) => {
  const backend = new FakeBackend('zookeeper');
  const r = reconciler([backend]);
  r.want(present);
  t.ok(await r.settled(1000));
  t.equal(registering(r, 'ready'), null, 'registered: nothing to wait for');
  backend.failNext = Infinity;
  backend.holds = undefined;
  backend.drift();
  await triedAgain(backend, 2);
  t.equal(registering(r, 'ready'), null, 'the registry stopped answering: still nothing to wait for');
  t.match(r.status(), [{ backend: 'zookeeper', registered: false, state: 'unreachable', lastError: 'registry down', lost: { reason: 'unreachable' } }], 'the status says it is lost and why');
  r.want(down);
  r.want(present);
  t.equal(registering(r, 'ready'), 'zookeeper: registry down', 'ready again after not ready: registered again first');
  backend.failNext = 0;
  t.ok(await r.settled(1000));
  t.equal(registering(r, 'ready'), null, 'back by itself when the registry answers');
  t.notOk(r.status()[0].lost, 'and no longer lost');
});

t.test('a registry that refuses before the first registration holds readiness back; after it, readiness stays and the status says refused', async (t) => {
  const backend = new FakeBackend('consul-kv');
  backend.refuse = true;
  backend.failNext = Infinity;
  const r = reconciler([backend]);
  r.want(present);
  await triedAgain(backend, 2);
  t.equal(registering(r, 'ready'), 'consul-kv: registry refused', 'never registered: not Ready');
  t.match(r.status(), [{ state: 'refused' }]);
  backend.failNext = 0;
  t.ok(await r.settled(1000));
  backend.failNext = Infinity;
  backend.drift();
  await triedAgain(backend, 1);
  t.equal(registering(r, 'ready'), null, 'registered before: Ready stays');
  t.match(r.status(), [{ state: 'refused', lost: { reason: 'refused' } }]);
});

t.test('leaving a registry that was never reached does not wait for it', async (t) => {
  const backend = new FakeBackend('zookeeper');
  backend.reached = false;
  backend.failNext = Infinity;
  const r = reconciler([backend]);
  r.want(present);
  await triedAgain(backend, 1);
  r.want(absent);
  const at = Date.now();
  t.ok(await r.settled(3000), 'nothing of this run can be in a registry it never reached');
  t.ok(Date.now() - at < 100, `settled at once (${Date.now() - at} ms)`);
});
