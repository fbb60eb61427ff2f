import t from 'tap';
import { pino } from 'pino';
import { earlyLog } from '../src/early-log.js';

// The agent spawns the app before pino is loaded: what is logged meanwhile, by child loggers too,
// comes out once pino is there, in order and with the time it happened.

t.test('events before the hand-over are written after it, in order, with their own times and bindings', async (t) => {
  const early = earlyLog();
  early.log.info({ pid: 7 }, 'app started');
  const zk = early.log.child({ backend: 'zookeeper' });
  zk.warn('session lost');
  const startedAt = Date.now();
  const lines: Array<Record<string, unknown>> = [];
  let now = 0;
  // pino's own clock here is an hour on: a held event written at its time would show it.
  const real = pino({ level: 'info', timestamp: () => `,"time":${now || startedAt + 3_600_000}` }, { write: (line: string) => lines.push(JSON.parse(line)) });
  early.handOver(real, (time, write) => {
    now = time;
    write();
    now = 0;
  });
  zk.info('registered');
  early.log.debug('below the level');
  t.same(lines.map((l) => [l.msg, l.backend]), [['app started', undefined], ['session lost', 'zookeeper'], ['registered', 'zookeeper']], 'every event, in order, a child keeping its bindings');
  t.ok((lines[0].time as number) <= startedAt, 'a held event keeps the time it happened');
  t.equal(lines[0].pid, 7, 'and its fields');
});
