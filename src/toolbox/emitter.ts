/**
 * A typed list of listeners. A listener that throws is reported and the rest still hear the event, so one
 * follower's defect cannot stop the others (or the emitter's own state change).
 */
export class Emitter<T> {
  private readonly listeners: Array<(value: T) => void> = [];

  constructor(private readonly onError: (err: unknown) => void) {}

  listen(listener: (value: T) => void): void {
    this.listeners.push(listener);
  }

  emit(value: T): void {
    for (const listener of this.listeners) {
      try {
        listener(value);
      } catch (err) {
        this.onError(err);
      }
    }
  }
}
