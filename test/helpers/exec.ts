// Commands run in a container under test, as the runtime's exec runs them: in its PID and mount
// namespaces, their output and end collected, a timeout that kills the exec'd process.

import { spawn, type ChildProcess } from 'node:child_process';
import { childrenOf } from './proc.js';

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  startedAt: number;
  ms: number;
  timedOut: boolean;
}

/**
 * Runs `command` in the PID and mount namespaces of host pid `pid1` (a plain child when null), with
 * exactly `env`; `running` holds it while it runs. At the timeout the exec'd process itself is
 * killed, as a timed-out exec probe is; what it started is left to PID 1.
 */
export function execIn(pid1: number | null, command: string[], options: { env: NodeJS.ProcessEnv; timeoutMs: number; running: Set<ChildProcess> }): Promise<ExecResult> {
  const argv = pid1 === null ? command : ['nsenter', '-t', String(pid1), '-p', '-m', '--', ...command];
  const proc = spawn(argv[0], argv.slice(1), { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  return collectExec(proc, options.running, options.timeoutMs, () => (pid1 === null ? proc.kill('SIGKILL') : killExec(proc)));
}

/**
 * The output and end of a command run in a container, `running` while it runs; at `timeoutMs`
 * `kill` ends it, as the runtime ends a timed-out exec.
 */
export function collectExec(proc: ChildProcess, running: Set<ChildProcess>, timeoutMs: number, kill: () => void): Promise<ExecResult> {
  const startedAt = Date.now();
  running.add(proc);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  proc.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
  proc.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
  let timedOut = false;
  const timer = Number.isFinite(timeoutMs)
    ? setTimeout(() => {
        timedOut = true;
        kill();
      }, timeoutMs)
    : null;
  return new Promise((resolve) => {
    proc.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      running.delete(proc);
      resolve({ code, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), startedAt, ms: Date.now() - startedAt, timedOut });
    });
  });
}

/** Kills what nsenter exec'd, as containerd's exec timeout does; nsenter, its parent here, then exits too. */
export function killExec(nsenter: ChildProcess): void {
  const inside = childrenOf(nsenter.pid!);
  for (const pid of inside) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (inside.length === 0) nsenter.kill('SIGKILL');
}
