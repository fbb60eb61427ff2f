import { pino, destination, type Logger } from 'pino';

export type Log = Logger;

// Secrets may sit under these keys in any object handed to the logger; pino blanks them.
const secretPaths = ['token', '*.token', 'password', '*.password', 'digest', '*.digest', 'auth', '*.auth', 'headers["X-Consul-Token"]'];

// Set while an event held from before the logger existed is written: it keeps its own time.
let heldTime: number | undefined;

// nile's own events: JSON lines on stderr, written synchronously so nothing is lost when PID 1 exits.
export function createLog(level = process.env.NILE_LOG_LEVEL || 'info'): Log {
  return pino(
    { base: { name: 'nile' }, level, redact: { paths: secretPaths, censor: '[redacted]' }, timestamp: () => `,"time":${heldTime ?? Date.now()}` },
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
