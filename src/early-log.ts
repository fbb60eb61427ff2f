import type { Log } from './log.js';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
const levels: Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];
type Bindings = Record<string, unknown>;

/**
 * A stand-in for the logger while the app is being spawned: pino loads after the spawn, and the
 * events of the first milliseconds wait for it, in order and with their own times. Child loggers
 * made meanwhile become pino children once it is there.
 */
export function earlyLog(): { log: Log; handOver(real: Log, writeHeld: (time: number, write: () => void) => void): void } {
  const held: Array<{ level: Level; args: unknown[]; at: number; bindings: Bindings[] }> = [];
  let root: Log | null = null;
  const childOf = (bindings: Bindings[]): Log => bindings.reduce<Log>((log, b) => log.child(b), root!);

  function standIn(bindings: Bindings[]): Log {
    let real: Log | null = null;
    const target = () => (real ??= root && childOf(bindings));
    const methods: Record<string, unknown> = Object.fromEntries(
      levels.map((level) => [level, (...args: unknown[]) => {
        const logger = target();
        if (logger) (logger[level] as (...a: unknown[]) => void)(...args);
        else held.push({ level, args, at: Date.now(), bindings });
      }]),
    );
    methods.child = (b: Bindings) => (target()?.child(b) ?? standIn([...bindings, b]));
    // Anything else (level checks and the like) is asked of pino, which is there by the time it is used.
    return new Proxy(methods, { get: (own, key) => (key in own ? own[key as string] : Reflect.get(target() ?? {}, key)) }) as unknown as Log;
  }

  return {
    log: standIn([]),
    handOver(logger, writeHeld) {
      root = logger;
      for (const event of held.splice(0)) writeHeld(event.at, () => (childOf(event.bindings)[event.level] as (...a: unknown[]) => void)(...event.args));
    },
  };
}
