import { pino, destination, type Logger } from 'pino';
import type { Redactor } from './redact.js';

export type Log = Logger;

// Secrets may sit under these keys in any object handed to the logger; pino blanks them.
const secretPaths = ['token', '*.token', 'password', '*.password', 'digest', '*.digest', 'auth', '*.auth', 'headers["X-Consul-Token"]'];

// Set while an event held from before the logger existed is written: it keeps its own time.
let heldTime: number | undefined;

// nile's own events: JSON lines on stderr, written synchronously so nothing is lost when PID 1 exits.
// With a redactor, every field and message goes through it (command lines, URLs, the config's secrets).
export function createLog(level = process.env.NILE_LOG_LEVEL || 'info', redact?: Redactor): Log {
  return pino(
    {
      base: { name: 'nile' },
      level,
      redact: { paths: secretPaths, censor: '[redacted]' },
      timestamp: () => `,"time":${heldTime ?? Date.now()}`,
      hooks: redact
        ? {
            logMethod(args, method) {
              return method.apply(this, args.map((a) => redact.value(a)) as Parameters<typeof method>);
            },
          }
        : {},
    },
    destination({ fd: 2, sync: true }),
  );
}

/** Writes an event that happened at `time`, before the logger was created. */
export function writeHeld(time: number, write: () => void): void {
  heldTime = time;
  try {
    write();
  } finally {
    heldTime = undefined;
  }
}
