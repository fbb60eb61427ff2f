import { closeSync, fstatSync } from 'node:fs';
import { loadNative } from '../native.js';
import type { SignalName } from '../runit/letters.js';

/** Signals handed to the app as they come. TERM and INT stop it gracefully instead (see onStop). */
const forwarded: SignalName[] = ['HUP', 'QUIT', 'USR1', 'USR2'];

// Installing a USR1 handler also keeps Node from opening its inspector on SIGUSR1.
export function handleSignals(handlers: { forward(signal: SignalName): void; onStop(signal: 'TERM' | 'INT'): void }): void {
  for (const signal of forwarded) process.on(`SIG${signal}`, () => handlers.forward(signal));
  process.on('SIGTERM', () => handlers.onStop('TERM'));
  process.on('SIGINT', () => handlers.onStop('INT'));
  // Node started with --disable-sigusr1 keeps SIGUSR1 blocked; a USR1 held meanwhile arrives now.
  loadNative()?.unblockSignals();
  tellFrontDoorHandlersAreIn();
}

/**
 * The front door (native/nile.c), PID 1 over this agent, holds the signals that came before these
 * handlers and forwards them once the pipe it gave us is closed.
 */
function tellFrontDoorHandlersAreIn(): void {
  const fd = Number(process.env.NILE_SIGNALS_FD);
  delete process.env.NILE_SIGNALS_FD; // not the app's
  if (!Number.isInteger(fd) || fd < 3) return;
  try {
    if (fstatSync(fd).isFIFO()) closeSync(fd);
  } catch {
    // not open: not started by the front door
  }
}
