// Runs nile's runit parts in a child Node process (so signals and children stay apart from the
// test), the real runsv beside them, and the real `sv`. Run as a program, it is that child:
//   node runit.js service DIR | services DIR | sv ARGS… | run
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { constants, closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { settlesWithin, waitFor } from './wait.js';

const helper = fileURLToPath(import.meta.url);

type Test = { teardown(fn: () => unknown): void; passing(): boolean; comment(...args: unknown[]): void };

export interface Supervisor {
  pid: number;
  /** TERM, wait for it to leave, then KILL its whole process group. */
  stop(): Promise<void>;
  exited(): boolean;
}

/** nile's runsv (`service`), runsvdir (`services`), or the real runsv, on `dir`; stopped at teardown. */
export function supervise(t: Test, kind: 'service' | 'services' | 'runsv', dir: string, env: NodeJS.ProcessEnv = {}): Supervisor {
  const argv = kind === 'runsv' ? ['runsv', dir] : [process.execPath, helper, kind, dir];
  return inChild(t, argv, env);
}

/** A program in its own process group, stopped at teardown; its output is shown when the test failed. */
export function inChild(t: Test, argv: string[], env: NodeJS.ProcessEnv = {}): Supervisor {
  const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: childEnv({ NILE_LOG_LEVEL: 'warn', ...env }) });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let stopping: Promise<void> | null = null;
  const supervisor: Supervisor = {
    pid: child.pid!,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    stop: () => (stopping ??= stopChild(child)),
  };
  t.teardown(async () => {
    await supervisor.stop();
    if (!t.passing() && output) t.comment(`${argv.join(' ')}:\n${output}`);
  });
  return supervisor;
}

// A NODE_OPTIONS of the shell that runs the tests is not the services'.
function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  return env;
}

async function stopChild(child: ChildProcess): Promise<void> {
  const gone = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
  child.kill('SIGTERM');
  await settlesWithin(gone, 5000);
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // the group is already empty
  }
  await settlesWithin(gone, 2000);
}

/** Waits until a supervisor holds `serviceDir`/supervise/ok open: then `sv` can talk to it. */
export async function waitSupervised(serviceDir: string, timeoutMs = 10_000): Promise<void> {
  let error = '';
  const held = () => {
    try {
      closeSync(openSync(path.join(serviceDir, 'supervise', 'ok'), constants.O_WRONLY | constants.O_NONBLOCK));
      return true;
    } catch (err) {
      error = (err as Error).message;
      return false;
    }
  };
  await waitFor(`a supervisor on ${serviceDir}`, held, timeoutMs, { everyMs: 50, context: () => error });
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env: childEnv(env), timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Debian's runit `sv`. */
export function realSv(...args: string[]): Promise<Run> {
  return run('sv', args);
}

/** `nile sv`, through the same entry the CLI calls. */
export function nileSv(dirs: { runDir: string; servicesDir: string }, ...args: string[]): Promise<Run> {
  return run(process.execPath, [helper, 'sv', ...args], { NILE_RUN_DIR: dirs.runDir, NILE_SERVICES: dirs.servicesDir });
}

/** A fresh temporary directory, removed at teardown. */
export function tempDir(t: Test, prefix: string, parent = os.tmpdir()): string {
  const dir = mkdtempSync(path.join(parent, `nile-${prefix}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Replaces pids and seconds in `sv` output, which differ from run to run. */
export function normalize(text: string): string {
  return text.replace(/\(pid \d+\)/g, '(pid N)').replace(/ \d+s/g, ' Ns');
}

async function childMain(mode: string, args: string[]): Promise<void> {
  if (mode === 'sv') {
    const { sv } = await import('../../src/cli/sv.js');
    process.exitCode = await sv(args, { runDir: process.env.NILE_RUN_DIR || '/run/nile', servicesDir: process.env.NILE_SERVICES || '/etc/service' });
    return;
  }
  const { createLog } = await import('../../src/log.js');
  const log = createLog();
  let stop: () => Promise<void>;
  if (mode === 'service') {
    const { RunitService } = await import('../../src/runit/service.js');
    const service = await RunitService.start(args[0], log);
    void service.done.then(() => process.exit(0));
    stop = () => service.stop(5000);
  } else {
    const { startServices } = await import('../../src/runit/scan.js');
    const dir = mode === 'run' ? process.env.NILE_SERVICES || '/etc/service' : args[0];
    const services = startServices({ dir, log, scanMs: 500, stopTimeoutMs: 5000 });
    stop = () => services.stop();
  }
  process.once('SIGTERM', () => void stop().then(() => process.exit(0)));
}

if (process.argv[1] === helper) {
  const [mode, ...args] = process.argv.slice(2);
  childMain(mode, args).catch((err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(111);
  });
}
