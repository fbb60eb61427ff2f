// Every process the bench starts goes through here, so all of them are stopped however the bench ends.

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cleanEnv } from '../helpers/nile.js';
import { settlesWithin } from '../helpers/wait.js';

const running = new Set<ChildProcess>();
const scratchDirs = new Set<string>();

function killAll(): void {
  // Killing unshare (started with --kill-child) takes its whole PID namespace down with it.
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

function removeScratch(): void {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
  scratchDirs.clear();
}

process.on('exit', () => {
  killAll();
  removeScratch();
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}

/** A folder removed when the bench ends, however it ends (removeScratchDir removes it sooner). */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(prefix);
  scratchDirs.add(dir);
  return dir;
}

export function removeScratchDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  scratchDirs.delete(dir);
}

/** The environment of every measured process: without NODE_EXTRA_CA_CERTS (it costs ~70 ms a Node start), NODE_OPTIONS or NILE_*. */
export function benchEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { ...cleanEnv(), ...extra };
}

export interface Started {
  proc: ChildProcess;
  /** process.hrtime.bigint() at the moment Node saw it exit. */
  exited: Promise<{ at: bigint; code: number | null; signal: NodeJS.Signals | null }>;
}

export function start(file: string, args: string[], options: SpawnOptions = {}): Started {
  const proc = track(spawn(file, args, { env: benchEnv(), stdio: 'ignore', ...options }));
  const exited = new Promise<{ at: bigint; code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ at: process.hrtime.bigint(), code, signal }));
    proc.once('error', () => resolve({ at: process.hrtime.bigint(), code: null, signal: null }));
  });
  return { proc, exited };
}

/** Stopped with the others when the bench ends, for a process spawned elsewhere (a test helper's). */
export function track(proc: ChildProcess): ChildProcess {
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  return proc;
}

/** SIGKILL, then wait (at most 5 s) for the exit. */
export async function stop(started: Started): Promise<void> {
  if (started.proc.exitCode === null && started.proc.signalCode === null) started.proc.kill('SIGKILL');
  await settlesWithin(started.exited, 5000);
}

/** Runs a command to its end with output captured; rejects on a non-zero exit or after timeoutMs. */
export async function run(file: string, args: string[], options: SpawnOptions & { timeoutMs?: number } = {}): Promise<string> {
  const { timeoutMs = 120_000, ...spawnOptions } = options;
  const started = start(file, args, { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  started.proc.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  started.proc.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  const timer = setTimeout(() => started.proc.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await started.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${commandLine(file, args)} ended with ${code ?? signal}: ${Buffer.concat(err).toString().trim().slice(-500)}`);
  return Buffer.concat(out).toString();
}

const commandLine = (file: string, args: string[]) => [file, ...args].join(' ').slice(0, 200);
