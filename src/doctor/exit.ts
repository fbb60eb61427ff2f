import os from 'node:os';
import type { Finding } from '../control/protocol.cjs';

// What a signal usually means for a JVM.
const SIGNAL_HINTS: Record<string, string> = {
  SIGKILL: "the kernel's OOM killer and a stop that ran out of time both send it",
  SIGABRT: 'the JVM aborts like this when it crashes: look for an hs_err_pid*.log',
  SIGSEGV: 'a crash in native code',
  SIGBUS: 'a crash in native code, often a truncated memory-mapped file',
};

/** How the app ended, when it ended badly: a non-zero status or a signal. */
export function exitFinding(exitCode?: number | null, signal?: string | null): Finding | undefined {
  if (signal) {
    const hint = SIGNAL_HINTS[signal];
    return { cause: 'exit-signal', summary: `the app was killed by ${signal}${hint ? ` (${hint})` : ''}`, evidence: [`signal ${signal}`] };
  }
  if (exitCode === undefined || exitCode === null || exitCode === 0) return undefined;
  const evidence = [`exit status ${exitCode}`];
  const viaShell = signalName(exitCode - 128);
  if (exitCode > 128 && viaShell) {
    evidence.push(`${exitCode} = 128 + ${exitCode - 128}: a shell's way of saying its child died of ${viaShell}`);
    const hint = SIGNAL_HINTS[viaShell];
    return { cause: 'exit-signal', summary: `the app was killed by ${viaShell}${hint ? ` (${hint})` : ''}`, evidence };
  }
  return { cause: 'exit-status', summary: `the app exited with status ${exitCode}`, evidence };
}

function signalName(n: number): string | undefined {
  return Object.entries(os.constants.signals).find(([, value]) => value === n)?.[0];
}
