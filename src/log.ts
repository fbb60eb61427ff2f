import { pino, destination, type Logger } from 'pino';

export type Log = Logger;

// Secrets may sit under these keys in any object handed to the logger; pino blanks them.
const secretPaths = ['token', '*.token', 'password', '*.password', 'digest', '*.digest', 'auth', '*.auth', 'headers["X-Consul-Token"]'];

// nile's own events: JSON lines on stderr, written synchronously so nothing is lost when PID 1 exits.
export function createLog(level = process.env.NILE_LOG_LEVEL || 'info'): Log {
  return pino(
    { base: { name: 'nile' }, level, redact: { paths: secretPaths, censor: '[redacted]' } },
    destination({ fd: 2, sync: true }),
  );
}
