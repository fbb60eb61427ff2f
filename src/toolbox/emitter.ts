/**
 * A typed list of listeners. A listener that throws is reported and the rest still hear the event, so one
 * follower's defect cannot stop the others (or the emitter's own state change).
 */
export class Emitter<T> {
  private readonly listeners: Array<(value: T) => void> = [];

  constructor(private readonly onError: (err: unknown) => void) {}

  /** Returns what stops this listener hearing. */
  listen(listener: (value: T) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const at = this.listeners.indexOf(listener);
      if (at >= 0) this.listeners.splice(at, 1);
    };
  }

  emit(value: T): void {
    // A copy: a listener may stop listening as it hears.
    for (const listener of [...this.listeners]) {
      try {
        listener(value);
      } catch (err) {
        this.onError(err);
      }
    }
  }
}
