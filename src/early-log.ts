import type { Log } from './log.js';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
const levels: Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/**
 * A stand-in for the logger while the app is being spawned: pino loads after the spawn, and the
 * events of the first milliseconds wait for it, in order and with their own times.
 */
export function earlyLog(): { log: Log; handOver(real: Log, writeHeld: (time: number, write: () => void) => void): void } {
  const held: Array<{ level: Level; args: unknown[]; at: number }> = [];
  let real: Log | null = null;
  const log = Object.fromEntries(
    levels.map((level) => [level, (...args: unknown[]) => (real ? (real[level] as (...a: unknown[]) => void)(...args) : held.push({ level, args, at: Date.now() }))]),
  );
  // Anything else (child loggers, level checks) is asked of the real logger, which exists by then.
  const proxy = new Proxy(log, { get: (target, key) => (key in target ? target[key as Level] : Reflect.get(real ?? {}, key)) });
  return {
    log: proxy as unknown as Log,
    handOver(logger, writeHeld) {
      for (const event of held.splice(0)) writeHeld(event.at, () => (logger[event.level] as (...a: unknown[]) => void)(...event.args));
      real = logger;
    },
  };
}
