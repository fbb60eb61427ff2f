import type { AppState } from '../app/machine.js';
import { errorText } from '../errors.js';
import type { Log } from '../log.js';
import { Emitter } from '../toolbox/emitter.js';
import { initialTraffic, next, trafficLine, type RegistryState, type TrafficEffect, type TrafficEvent, type TrafficPolicy, type TrafficState } from './machine.js';

/**
 * Holds the traffic's state and hands each effect of `next` to whoever carries it out: Serving (the calls),
 * OutOfTraffic (the drain), the registration's follower, the app (the operator's letters). Each effect has
 * one taker, so the order in which they listen changes nothing. An event raised while one is being taken
 * waits its turn.
 */
export class Traffic {
  state: TrafficState;
  private readonly effects: Emitter<TrafficEffect>;
  private readonly changes: Emitter<TrafficState>;
  private readonly queue: TrafficEvent[] = [];
  private dispatching = false;

  constructor(
    private readonly policy: TrafficPolicy,
    registry: RegistryState,
    private readonly log: Log,
  ) {
    this.state = initialTraffic(registry);
    this.effects = new Emitter((err) => log.error({ err: errorText(err) }, 'traffic effect failed'));
    this.changes = new Emitter((err) => log.error({ err: errorText(err) }, 'traffic listener failed'));
  }

  /** A taker of effects: it carries out the kinds it knows and ignores the rest. */
  onEffect(take: (effect: TrafficEffect) => void): void {
    this.effects.listen(take);
  }

  /** After each event, once its effects are taken. */
  onChange(listener: (state: TrafficState) => void): void {
    this.changes.listen(listener);
  }

  /** The app's phase changes are the traffic's events from now on. */
  follow(app: { readonly state: AppState; onChange(listener: (state: AppState) => void): void }): void {
    app.onChange((state) => this.dispatch({ type: 'app', phase: state.phase, at: Date.now() }));
    this.dispatch({ type: 'app', phase: app.state.phase, at: Date.now() });
  }

  dispatch(event: TrafficEvent): void {
    this.queue.push(event);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let taken = this.queue.shift(); taken; taken = this.queue.shift()) this.take(taken);
    } finally {
      this.dispatching = false;
    }
  }

  /** Resolves once the state holds (at once when it does). */
  until(holds: (state: TrafficState) => boolean): Promise<void> {
    if (holds(this.state)) return Promise.resolve();
    return new Promise((resolve) => {
      const stop = this.changes.listen((state) => {
        if (!holds(state)) return;
        stop();
        resolve();
      });
    });
  }

  private take(event: TrafficEvent): void {
    const before = this.state;
    const { state, effects } = next(before, event, this.policy);
    this.state = state;
    const line = trafficLine(state);
    if (line !== trafficLine(before)) this.log.debug({ event: event.type }, line);
    for (const effect of effects) this.effects.emit(effect);
    this.changes.emit(state);
  }
}
