import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { appMark } from './leftovers.js';
import { resolveUser } from './user.js';

export interface Exit {
  code: number | null;
  signal: string | null; // without the SIG prefix
}

// Output still in the pipes when the app exits is read before its exit is told, unless a process
// it left behind holds them open: then the exit is told after this long.
const drainAfterExitMs = 200;

/**
 * Starts the app in its own process group (only nile decides which signals reach it), with stdin
 * the container's and stdout and stderr as given (see OutputTail.streams). Plain `child_process`.
 * Throws when it cannot even be tried.
 */
export function spawnApp(app: Config['app'], output: [number | 'pipe', number | 'pipe']): ChildProcess {
  if (!existsSync(app.workdir)) throw new Error(`app.workdir ${app.workdir} does not exist`);
  const user = app.user ? resolveUser(app.user) : undefined;
  const [file, ...args] = app.command;
  return spawn(file, args, {
    cwd: app.workdir,
    env: { ...process.env, ...app.env, ...(user?.home ? { HOME: user.home } : {}), [appMark.name]: appMark.value },
    uid: user?.uid,
    gid: user?.gid,
    stdio: ['inherit', ...output],
    detached: true,
  });
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
