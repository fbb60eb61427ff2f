import { findMemoryCgroup, type MemoryCgroup } from '../cgroup/find.js';
import { describeReading, percent, takeReading, type MemoryReading } from '../cgroup/reading.js';
import type { Config } from '../config/schema.js';
import { errorText } from '../errors.js';
import type { Log } from '../log.js';
import { realClock, type Clock } from '../toolbox/clock.js';
import { Emitter } from '../toolbox/emitter.js';
import { heapSettings } from './heap-settings.js';

const everyMs = 3000;
const kept = 5; // the last readings, for the doctor after an OOM kill

/** What `nile status` and the metrics show of the container's memory. */
export interface MemoryStatus {
  usageBytes: number;
  limitBytes: number | null;
  warnAt: number;
  above: boolean; // over warnAt of the limit now
  warnedAt: string | null; // the last time it went over
  readAt: string; // when this reading was taken
}

/**
 * Reads the container's memory usage every few seconds; when it passes `memory.warnAt` of the limit,
 * logs one warning with the figures and the JVM's heap options (again only after it went back under).
 */
export class MemoryWatch {
  readonly readings: MemoryReading[] = [];
  private above = false;
  private warnedAt: number | null = null;
  private cancel: (() => void) | null = null;
  private stopped = false;
  private readonly readingTaken: Emitter<MemoryReading>;

  private constructor(
    readonly cgroup: MemoryCgroup,
    private readonly config: Config,
    private readonly log: Log,
    private readonly clock: Clock,
    private readonly everyMs: number,
  ) {
    this.readingTaken = new Emitter((err) => log.error({ err: errorText(err) }, 'memory: a follower of the readings failed'));
  }

  /** Starts watching the agent's own cgroup (the container's) or the one given; null when there is none to read. */
  static async start(config: Config, log: Log, options: { cgroup?: MemoryCgroup; everyMs?: number; clock?: Clock } = {}): Promise<MemoryWatch | null> {
    const cgroup = options.cgroup ?? findMemoryCgroup();
    if (!cgroup) return null;
    const watch = new MemoryWatch(cgroup, config, log, options.clock ?? realClock, options.everyMs ?? everyMs);
    watch.read(); // a cgroup that cannot be read stops the watch here
    return watch.readings.length ? watch : null;
  }

  /** Called with each reading from now on (the record in runDir keeps them). */
  onReading(listener: (reading: MemoryReading) => void): void {
    this.readingTaken.listen(listener);
  }

  stop(): void {
    this.stopped = true;
    this.cancel?.();
  }

  get last(): MemoryReading | undefined {
    return this.readings.at(-1);
  }

  status(): MemoryStatus | null {
    const last = this.last;
    if (!last) return null;
    return { usageBytes: last.usageBytes, limitBytes: last.limitBytes, warnAt: this.config.memory.warnAt, above: this.above, warnedAt: this.warnedAt ? new Date(this.warnedAt).toISOString() : null, readAt: new Date(last.at).toISOString() };
  }

  private read(): void {
    let reading: MemoryReading;
    try {
      reading = takeReading(this.cgroup, this.clock.now());
    } catch (err) {
      this.log.warn({ cgroup: this.cgroup.dir, err: errorText(err) }, 'memory: the cgroup cannot be read; the memory watch stops');
      return this.stop();
    }
    if (!this.stopped) this.cancel = this.clock.after(this.everyMs, () => this.read());
    this.readings.push(reading);
    if (this.readings.length > kept) this.readings.shift();
    this.readingTaken.emit(reading);
    const share = reading.limitBytes ? reading.usageBytes / reading.limitBytes : 0;
    const { warnAt } = this.config.memory;
    if (share >= warnAt && !this.above) {
      this.above = true;
      this.warnedAt = reading.at;
      const heap = heapSettings(this.config.app.command, this.config.app.env);
      this.log.warn(
        { usageBytes: reading.usageBytes, limitBytes: reading.limitBytes, warnAt: percent(warnAt), heap },
        `memory: the container uses ${describeReading(reading)}, above ${percent(warnAt)} of its limit; the JVM's memory options: ${heap}`,
      );
    } else if (share < warnAt - 0.05 && this.above) {
      this.above = false;
      this.log.info({ usageBytes: reading.usageBytes, limitBytes: reading.limitBytes }, `memory: back under ${percent(warnAt)}: ${describeReading(reading)}`);
    }
  }
}
