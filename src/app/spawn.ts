import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import type { Exit } from '../runit/letters.js';
import { appMark } from './leftovers.js';
import { resolveUser } from './user.js';

// Output still in the pipes when the app exits is read before its exit is told, unless a process
// it left behind holds them open: then the exit is told after this long.
const drainAfterExitMs = 200;

/** A start that never ran: what to tell the operator, and the status a shell would give (127 not found, 126 cannot execute). */
export class SpawnError extends Error {
  constructor(
    message: string,
    readonly status: 126 | 127,
  ) {
    super(message);
  }
}

/** What went wrong when spawn() could not run the command, in a sentence that names what was looked at. */
export function spawnError(app: Config['app'], err: unknown): SpawnError {
  if (err instanceof SpawnError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  const file = app.command[0] ?? '';
  const searched = app.env.PATH ?? process.env.PATH ?? '';
  const onPath = file.includes('/') ? null : searched.split(':').filter(Boolean).map((dir) => path.join(dir, file));
  if (code === 'ENOENT' && onPath) {
    const there = onPath.find((candidate) => existsSync(candidate));
    if (!there) return new SpawnError(`command "${file}" not found on PATH (${searched || 'empty'})`, 127);
    return new SpawnError(`${there} (found on PATH) cannot be run: ${interpreterHint(there)}`, 127);
  }
  if (code === 'ENOENT') return new SpawnError(existsSync(path.resolve(app.workdir, file)) ? `${file} cannot be run: ${interpreterHint(path.resolve(app.workdir, file))}` : `${file} does not exist`, 127);
  if (code === 'EACCES') {
    const target = onPath?.find((candidate) => existsSync(candidate) && !isDirectory(candidate)) ?? file;
    return new SpawnError(isDirectory(target) ? `${target} is a directory, not a command` : `${target} is not executable (permission denied)`, 126);
  }
  if (code === 'ENOEXEC') return new SpawnError(`${file} is not a program this system can run (exec format error)`, 126);
  return new SpawnError(`cannot run ${file}: ${err instanceof Error ? err.message : String(err)}`, 126);
}

// A script whose `#!` interpreter is missing fails with ENOENT like a missing command.
function interpreterHint(file: string): string {
  try {
    accessSync(file, constants.X_OK);
    return 'its interpreter (the #! line) does not exist';
  } catch {
    return 'it is not executable';
  }
}

function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Starts the app in its own process group (only nile decides which signals reach it), with stdin
 * the container's and stdout and stderr as given (see OutputTail.streams). Plain `child_process`.
 * Throws when it cannot even be tried.
 */
export function spawnApp(app: Config['app'], output: [number | 'pipe', number | 'pipe']): ChildProcess {
  if (!existsSync(app.workdir)) throw new SpawnError(`app.workdir ${app.workdir} does not exist`, 127);
  let user: ReturnType<typeof resolveUser> | undefined;
  try {
    user = app.user ? resolveUser(app.user) : undefined;
  } catch (err) {
    throw new SpawnError(err instanceof Error ? err.message : String(err), 126);
  }
  const [file, ...args] = app.command;
  const child = spawn(file, args, {
    cwd: app.workdir,
    env: { ...process.env, ...app.env, ...(user?.home ? { HOME: user.home } : {}), [appMark.name]: appMark.value },
    uid: user?.uid,
    gid: user?.gid,
    stdio: ['inherit', ...output],
    detached: true,
  });
  if (child.pid !== undefined) preferForOomKill(child.pid);
  return child;
}

/**
 * When the container's memory runs out, the kernel kills the process with the most points (RSS plus
 * oom_score_adj × the limit / 1000). A JVM early in its start can hold less than nile's agent, and a kill
 * of the agent takes the scene with it: the app gets nile's oom_score_adj + 500, which wins while the
 * agent holds under half the limit. Raising needs no privilege; a failure leaves the kernel's own choice.
 */
function preferForOomKill(pid: number): void {
  try {
    const own = Number(readFileSync('/proc/self/oom_score_adj', 'utf8'));
    writeFileSync(`/proc/${pid}/oom_score_adj`, String(Math.min(1000, own + 500)));
  } catch {
    // no /proc, or an app.user whose /proc entries nile may not write: the kernel chooses as before
  }
}

/** Calls back once with the app's exit, after the output it wrote before exiting has been passed on. */
export function onExit(child: ChildProcess, drained: Promise<void>, done: (exit: Exit) => void): void {
  child.once('exit', (code, signal) => {
    const exit = { code, signal: signal?.replace(/^SIG/, '') ?? null };
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainAfterExitMs)));
    void Promise.race([drained, waited]).then(() => {
      clearTimeout(timer);
      done(exit);
    });
  });
}
