import { spawn, type ChildProcess } from 'node:child_process';
import { constants, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import type { Log } from '../log.js';

/** Where a program of a service directory reads and writes: /dev/null or the log pipe, nile's stdout. */
export interface Stdio {
  stdin: 'ignore' | number;
  stdout: 'inherit' | number;
}

/**
 * Starts ./run, ./finish or log/run the way runsv's child does (cwd the service directory, nile's
 * environment and stderr). Null when it cannot start: runsv's child would exit 111 then.
 */
export function startProgram(argv: string[], cwd: string, stdio: Stdio, log: Log): ChildProcess | null {
  const failed = (err: Error) => log.warn({ cwd, program: argv[0], err: err.message }, 'cannot start service program');
  try {
    const child = spawn(argv[0], argv.slice(1), { cwd, stdio: [stdio.stdin, stdio.stdout, 'inherit'] });
    // Some spawn failures arrive as an 'error' event, which would throw out of the event loop unheard.
    child.on('error', failed);
    return child.pid === undefined ? null : child;
  } catch (err) {
    failed(err as Error);
    return null;
  }
}

/**
 * runsv's custom(): runs control/<letter> with the service's pid (or "") and says whether it exited
 * 0, which means it took the place of the default action. False when there is no executable script.
 */
export async function controlScriptHandled(dir: string, letter: string, pid: number, stdout: Stdio['stdout'], log: Log, track: (child: ChildProcess) => void): Promise<boolean> {
  const script = path.join(dir, 'control', letter);
  if (!isExecutable(script)) return false;
  const child = startProgram([script, pid ? String(pid) : ''], dir, { stdin: 'ignore', stdout }, log);
  if (!child) return false;
  track(child);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  return code === 0;
}

function isExecutable(file: string): boolean {
  try {
    return (statSync(file).mode & constants.S_IXUSR) !== 0;
  } catch {
    return false;
  }
}

/** Node reports a signal by name; runit speaks of its number. */
export function signalNumber(signal: NodeJS.Signals | null): number | null {
  return signal === null ? null : (osConstants.signals[signal] ?? null);
}
