// Registration as a reconciler: "the registry should hold this" against "each backend holds that".
// Lost sessions, restarted registries and races all end the same way: apply the desired state again until it holds.
// Readiness asks whether the registration was confirmed since it was last wanted, not whether it holds this instant:
// once registered, a registry outage shows in the status and the logs, and does not take the pod out of Service.

import type { Log } from '../log.js';
import { RegistryRefused, type Backend, type BackendStatus, type Desired } from './backend.js';
import { backoffDelay, defaultBackoff, type BackoffPolicy } from './backoff.js';
import { messageOf } from '../errors.js';
import { realClock, type Clock } from '../toolbox/clock.js';
import { within } from '../toolbox/sleep.js';

/** What the reconciler knows of one backend; printable in one line. */
export interface Slot {
  applied: Desired | undefined; // what the backend last confirmed holding; undefined = not known
  busy: boolean; // an apply is in flight
  attempt: number; // id of the latest apply started; the late answer of an abandoned one is ignored
  epoch: number; // bumped by drift; an apply begun before the drift does not count as holding
  failures: number; // consecutive failed applies
  retryAt: number; // ms epoch before which no apply starts
  lastError: string | undefined;
  refused: boolean; // the last failure was the registry saying no, not failing to answer
  failingSince: number | undefined; // ms epoch of the first failure of the current run of failures
  confirmed: Desired | undefined; // held at least once since it was last wanted; drift and failures keep it
}

export type Step = { kind: 'idle' } | { kind: 'apply' } | { kind: 'wait'; ms: number };

/** The answer of one apply. */
export interface Outcome {
  attempt: number;
  epoch: number;
  desired: Desired;
  error?: string;
  refused?: boolean;
}

export function newSlot(): Slot {
  return { applied: undefined, busy: false, attempt: 0, epoch: 0, failures: 0, retryAt: 0, lastError: undefined, refused: false, failingSince: undefined, confirmed: undefined };
}

export function sameDesired(a: Desired | undefined, b: Desired | undefined): boolean {
  if (!a || !b) return false;
  if (!a.present || !b.present) return a.present === b.present;
  return a.down === b.down;
}

/** What to do for one backend now. */
export function nextStep(slot: Slot, desired: Desired, now: number): Step {
  if (slot.busy || sameDesired(slot.applied, desired)) return { kind: 'idle' };
  if (now < slot.retryAt) return { kind: 'wait', ms: slot.retryAt - now };
  return { kind: 'apply' };
}

export function started(slot: Slot): Slot {
  return { ...slot, busy: true, attempt: slot.attempt + 1 };
}

/** Record an apply's answer; the answer of an apply that is no longer the one in flight changes nothing. */
export function finished(slot: Slot, outcome: Outcome, now: number, policy: BackoffPolicy = defaultBackoff, random: () => number = Math.random): Slot {
  if (!slot.busy || outcome.attempt !== slot.attempt) return slot;
  if (outcome.error === undefined) {
    const applied = outcome.epoch === slot.epoch ? outcome.desired : undefined;
    return { ...slot, busy: false, applied, failures: 0, retryAt: 0, lastError: undefined, refused: false, failingSince: undefined, confirmed: applied ?? slot.confirmed };
  }
  const failures = slot.failures + 1;
  const failingSince = slot.failingSince ?? now;
  return { ...slot, busy: false, applied: undefined, failures, retryAt: now + backoffDelay(failures, policy, random), lastError: outcome.error, refused: outcome.refused === true, failingSince };
}

/** The backend saw the registry move away from what it applied: apply again, now. */
export function drifted(slot: Slot): Slot {
  return { ...slot, applied: undefined, epoch: slot.epoch + 1, retryAt: 0 };
}

/** A new desired state is tried at once and must be confirmed anew; the failure count stays, so a dead registry is still retried slowly. */
export function retargeted(slot: Slot): Slot {
  return { ...slot, retryAt: 0, confirmed: undefined };
}

/** What is wrong with one backend now, in the status's words: undefined while it answers. */
export function trouble(slot: Slot): 'unreachable' | 'refused' | undefined {
  if (slot.lastError === undefined) return undefined;
  return slot.refused ? 'refused' : 'unreachable';
}

/** The registration `desired` was confirmed and is not held now: since when, and why. */
export function lost(slot: Slot, desired: Desired, now: number): { reason: 'unreachable' | 'refused'; since: number } | undefined {
  const reason = trouble(slot);
  if (!desired.present || reason === undefined || !sameDesired(slot.confirmed, desired)) return undefined;
  return { reason, since: slot.failingSince ?? now };
}

export function describeDesired(desired: Desired | undefined): string {
  if (!desired) return 'unknown';
  if (!desired.present) return 'absent';
  return desired.down ? 'down' : 'registered';
}

export interface ReconcilerOptions {
  backoff?: BackoffPolicy;
  /** An apply that has not answered by then counts as failed (the backends bound their own calls well inside it). */
  applyTimeoutMs?: number;
  random?: () => number;
  /** The backoff's and the apply timeout's time; tests pass a manual one. */
  clock?: Clock;
}

export class Reconciler {
  // Nothing is registered until asked: a registration left by an earlier run of this instance is removed.
  private desired: Desired = { present: false };
  private slots: Slot[];
  private readonly timers: ((() => void) | undefined)[];
  private readonly announced: (Desired | undefined)[];
  private readonly waiters = new Set<() => void>();
  private scheduled = false;
  private closed = false;
  private readonly clock: Clock;

  constructor(
    private readonly backends: Backend[],
    private readonly log: Log,
    private readonly opts: ReconcilerOptions = {},
  ) {
    this.clock = opts.clock ?? realClock;
    this.slots = backends.map(() => newSlot());
    this.timers = backends.map(() => undefined);
    this.announced = backends.map(() => undefined);
    backends.forEach((backend, i) => this.listen(backend, i));
    this.kick();
  }

  /** Set what every registry should hold; returns at once, the work happens in the background. */
  want(desired: Desired): void {
    if (this.closed) return;
    if (!sameDesired(desired, this.desired)) this.slots = this.slots.map(retargeted);
    this.desired = desired.present ? { present: true, down: desired.down } : { present: false };
    this.kick();
  }

  /** True once every backend holds the current desired state; false if that has not happened within timeoutMs. */
  settled(timeoutMs: number): Promise<boolean> {
    if (this.isSettled()) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        cancel();
        this.waiters.delete(check);
        resolve(ok);
      };
      const check = (): void => {
        if (this.isSettled()) done(true);
        else if (this.closed) done(false);
      };
      const cancel = this.clock.after(timeoutMs, () => done(false));
      this.waiters.add(check);
    });
  }

  /**
   * Null once every backend confirmed `desired` since it was last wanted; else which have not yet, with their last
   * error. A registry that stops answering after that does not bring it back: see `status`.
   */
  pending(desired: Desired): string | null {
    const behind = this.backends.flatMap((backend, i) => (sameDesired(this.slots[i].confirmed, desired) && sameDesired(desired, this.desired) ? [] : [{ name: backend.name, error: this.slots[i].lastError }]));
    if (behind.length === 0) return null;
    return behind.map((b) => (b.error ? `${b.name}: ${b.error}` : b.name)).join(', ');
  }

  /** The backends whose confirmed registration is lost now (an outage, a refusal), for the probe's line; null when none. */
  outage(): string | null {
    const now = this.clock.now();
    const lines = this.backends.flatMap((backend, i) => {
      const gone = lost(this.slots[i], this.desired, now);
      return gone ? [`${backend.name} ${gone.reason} for ${Math.round((now - gone.since) / 1000)}s`] : [];
    });
    return lines.length ? lines.join(', ') : null;
  }

  status(): BackendStatus[] {
    return this.backends.map((backend, i) => {
      const own = statusOf(backend, this.clock.now());
      const slot = this.slots[i];
      const reason = trouble(slot);
      if (reason === undefined) return own;
      const gone = lost(slot, this.desired, this.clock.now());
      return { ...own, state: reason, lastError: slot.lastError, ...(gone ? { lost: gone } : {}) };
    });
  }

  /** Stop reconciling and release the backends' connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timers.forEach((cancel) => cancel?.());
    this.notify();
    await Promise.all(this.backends.map((backend) => this.closeBackend(backend)));
  }

  private listen(backend: Backend, i: number): void {
    try {
      backend.onDrift(() => this.onDrift(i));
    } catch (err) {
      this.log.warn({ backend: backend.name, error: messageOf(err) }, 'cannot watch registry for drift');
    }
  }

  private onDrift(i: number): void {
    if (this.closed) return;
    this.log.debug({ backend: this.backends[i].name }, 'registry drifted; reconciling');
    this.slots[i] = drifted(this.slots[i]);
    this.kick();
  }

  private kick(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.reconcile();
    });
  }

  /** One pass over every backend; safe to run at any time. */
  private reconcile(): void {
    if (this.closed) return;
    const now = this.clock.now();
    this.backends.forEach((_, i) => this.step(i, now));
    this.notify();
  }

  private step(i: number, now: number): void {
    this.timers[i]?.();
    this.timers[i] = undefined;
    const step = nextStep(this.slots[i], this.desired, now);
    if (step.kind === 'wait') this.timers[i] = this.clock.after(step.ms, () => this.kick());
    else if (step.kind === 'apply') this.start(i);
  }

  private start(i: number): void {
    const desired = this.desired;
    this.slots[i] = started(this.slots[i]);
    const { attempt, epoch } = this.slots[i];
    const timeoutMs = this.opts.applyTimeoutMs ?? 30_000;
    const cancel = this.clock.after(timeoutMs, () => this.finish(i, { attempt, epoch, desired, error: `no answer within ${timeoutMs} ms` }));
    applyQuietly(this.backends[i], desired).then((failure) => {
      cancel();
      this.finish(i, { attempt, epoch, desired, ...failure });
    });
  }

  private finish(i: number, outcome: Outcome): void {
    if (this.closed) return;
    const before = this.slots[i];
    const after = finished(before, outcome, this.clock.now(), this.opts.backoff, this.opts.random);
    if (after === before) return;
    this.slots[i] = after;
    this.report(i, before, after, outcome);
    this.kick();
  }

  private report(i: number, before: Slot, after: Slot, outcome: Outcome): void {
    const backend = this.backends[i].name;
    const state = describeDesired(outcome.desired);
    if (outcome.error === undefined) {
      if (before.failures > 0) this.log.info({ backend, state, failures: before.failures }, 'registry reachable again');
      else if (!sameDesired(this.announced[i], outcome.desired)) this.log.info({ backend, state }, 'registry updated');
      this.announced[i] = outcome.desired;
      return;
    }
    const fields = { backend, want: state, error: outcome.error, failures: after.failures, retryInMs: after.retryAt - this.clock.now() };
    const gone = lost(after, this.desired, this.clock.now());
    // One warning per kind of failure; the retries of a long outage go to debug.
    if (after.failures > 1 && outcome.error === before.lastError) this.log.debug(fields, 'registry update failed again');
    else if (gone?.reason === 'refused') this.log.error(fields, 'the registry refuses the registration it held; the pod stays Ready, retrying');
    else if (gone) this.log.warn(fields, 'registration lost: the registry does not answer; the pod stays Ready, retrying until it does');
    else this.log.warn(fields, 'registry update failed; retrying');
  }

  // Out of a registry it never reached, nothing of this run is in it: leaving does not wait for it.
  private isSettled(): boolean {
    return this.slots.every((slot, i) => sameDesired(slot.applied, this.desired) || (!this.desired.present && !this.backends[i].reached));
  }

  private notify(): void {
    for (const check of [...this.waiters]) check();
  }

  private async closeBackend(backend: Backend): Promise<void> {
    const closing = Promise.resolve()
      .then(() => backend.close())
      .then(() => undefined, messageOf);
    const error = await within(closing, 5000, 'no answer within 5000 ms');
    if (error !== undefined) this.log.warn({ backend: backend.name, error }, 'registry connection did not close cleanly');
  }
}

/** Resolves with how an apply failed, or nothing; a backend that throws synchronously is a failure too. */
async function applyQuietly(backend: Backend, desired: Desired): Promise<{ error?: string; refused?: boolean }> {
  try {
    await backend.apply(desired);
    return {};
  } catch (err) {
    return { error: messageOf(err), refused: err instanceof RegistryRefused };
  }
}

function statusOf(backend: Backend, now: number): BackendStatus {
  try {
    return backend.status();
  } catch (err) {
    return { backend: backend.name, state: 'error', registered: false, lastError: messageOf(err), since: now };
  }
}
