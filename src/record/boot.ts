import type { Log } from '../log.js';
import { atStart, type AtStart } from './previous.js';
import { readRecord } from './record.js';

/** What the previous container's record says of this start, logged; a record that cannot be read lets the app start. */
export function previousContainer(runDir: string, log: Log): AtStart {
  const { record, unreadable } = readRecord(runDir);
  if (unreadable) log.warn({ runDir, reason: unreadable }, "the previous container's record cannot be read; starting the app as usual");
  const start = atStart(record);
  const previous = start.previous;
  if (start.hold) log.warn({ phase: previous?.phase, lastRecord: previous?.at }, 'the app is held back, not started into the death of the previous container');
  else if (previous?.how === 'killed') log.warn({ phase: previous.phase, lastRecord: previous.at }, `the previous container was killed (nile did not exit) with the app ${previous.phase}; starting the app`);
  return start;
}
