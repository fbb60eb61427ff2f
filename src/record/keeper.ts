import type { AppState } from '../app/machine.js';
import type { AppSupervisor } from '../app/supervisor.js';
import type { Config } from '../config/schema.js';
import { errorText } from '../errors.js';
import type { Log } from '../log.js';
import type { MemoryReading } from '../cgroup/reading.js';
import { redactorFor, type Redactor } from '../redact.js';
import { excerpt, keptLines, writeRecord, type ContainerRecord } from './record.js';

const keptReadings = 5;
const quietEveryMs = 60_000; // a steady app: its memory rewritten once a minute, not at each reading

/** Whether a memory reading is worth a write: each while the app starts or memory is high, else once a minute. */
export function worthWriting(reading: MemoryReading, phase: AppState['phase'], lastWriteAt: number, warnAt: number): boolean {
  const high = reading.limitBytes !== null && reading.usageBytes >= warnAt * reading.limitBytes;
  return phase === 'starting' || high || reading.at - lastWriteAt >= quietEveryMs;
}

/** Keeps this container's record in runDir: at each change of the app's phase, with the memory readings, and when nile exits. */
export interface RecordKeeper {
  reading(reading: MemoryReading, cgroup: string): void;
  ended(code: number): void;
}

/**
 * Writes the record from the app's first change on. `held`: the record of the killed container this
 * one holds the app back for, kept until the app is started.
 */
export function keepRecord(config: Config, app: AppSupervisor, log: Log, held: ContainerRecord | null): RecordKeeper {
  let redact: Redactor | null = null; // made at the first write, after the spawn
  const startedAt = new Date().toISOString();
  let memory: ContainerRecord['memory'] = { cgroup: null, readings: [] };
  let ended: ContainerRecord['ended'] = null;
  let lastWriteAt = 0;
  let failing = false;
  const write = () => {
    const s = app.state;
    if (s.phase !== 'failed') held = null;
    const failure = s.phase === 'failed' || s.phase === 'down' || s.phase === 'restarting' ? (app.report?.reason ?? null) : null;
    const record: ContainerRecord = {
      nile: { pid: process.pid, startedAt },
      app: { phase: s.phase, since: new Date(s.changedAt).toISOString(), pid: s.pid, startedAt: s.startedAt === null ? null : new Date(s.startedAt).toISOString() },
      failure,
      memory,
      output: (redact ??= redactorFor(config)).value(excerpt(app.tail.last(keptLines))),
      held,
      ended,
      at: new Date().toISOString(),
    };
    try {
      writeRecord(config.runDir, record);
      lastWriteAt = Date.now();
      if (failing) log.info('the container record is written again');
      failing = false;
    } catch (err) {
      if (!failing) log.warn({ err: errorText(err) }, 'the container record cannot be written; a container killed now leaves no trace of it');
      failing = true;
    }
  };
  // Written in the turn after the change: the app's spawn goes first (a write is a few ms on ext4), and
  // changes of one turn make one write.
  let pending: NodeJS.Immediate | null = null;
  const writeSoon = () => {
    pending ??= setImmediate(() => {
      pending = null;
      write();
    });
  };
  let was = { phase: app.state.phase, pid: app.state.pid };
  app.onChange((s) => {
    if (s.phase === was.phase && s.pid === was.pid) return;
    was = { phase: s.phase, pid: s.pid };
    writeSoon();
  });
  return {
    reading(reading, cgroup) {
      memory = { cgroup, readings: [...memory.readings.slice(1 - keptReadings), reading] };
      if (worthWriting(reading, app.state.phase, lastWriteAt, config.memory.warnAt)) writeSoon();
    },
    ended(code) {
      if (pending) clearImmediate(pending);
      ended = { at: new Date().toISOString(), code };
      write();
    },
  };
}
