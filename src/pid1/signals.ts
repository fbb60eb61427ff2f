import type { SignalName } from '../runit/letters.js';

/** Signals handed to the app as they come. TERM and INT stop it gracefully instead (see onStop). */
const forwarded: SignalName[] = ['HUP', 'QUIT', 'USR1', 'USR2'];

// Installing a USR1 handler also keeps Node from opening its inspector on SIGUSR1.
export function handleSignals(handlers: { forward(signal: SignalName): void; onStop(signal: 'TERM' | 'INT'): void }): void {
  for (const signal of forwarded) process.on(`SIG${signal}`, () => handlers.forward(signal));
  process.on('SIGTERM', () => handlers.onStop('TERM'));
  process.on('SIGINT', () => handlers.onStop('INT'));
}
