// bin/nile.js's own commands for the kubelet (src/cli/fast.cts), run one after another in one Node:
// the reference a test compares the native front door with over many answers, without starting a
// Node for each. Started by `startFastReference`; run here as a child with an IPC channel.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fastCommand } from '../../src/cli/fast.cjs';
import type { FastVerb } from '../../src/cli/args.cjs';

export interface FastRun {
  code: number;
  stdout: string;
  stderr: string;
}

interface Request {
  verb: FastVerb;
  args: string[];
  env: Record<string, string>;
}

/** One command at a time, its writes to stdout and stderr kept instead of printed. */
async function serve(request: Request): Promise<FastRun> {
  const before = Object.keys(request.env).map((key) => [key, process.env[key]] as const);
  Object.assign(process.env, request.env);
  // Kept as the bytes a pipe would carry (a lone surrogate goes out as U+FFFD), read back as UTF-8.
  const kept: Record<'stdout' | 'stderr', Buffer[]> = { stdout: [], stderr: [] };
  const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
  for (const name of ['stdout', 'stderr'] as const) process[name].write = ((chunk: string | Uint8Array) => kept[name].push(Buffer.from(chunk)) > 0) as typeof process.stdout.write;
  try {
    const code = await fastCommand(request.verb)(request.args);
    return { code, stdout: Buffer.concat(kept.stdout).toString('utf8'), stderr: Buffer.concat(kept.stderr).toString('utf8') };
  } finally {
    Object.assign(process.stdout, { write: writes.stdout });
    Object.assign(process.stderr, { write: writes.stderr });
    for (const [key, value] of before) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

if (process.argv[2] === 'serve') {
  let queue = Promise.resolve();
  process.on('message', (request: Request) => {
    queue = queue.then(async () => void process.send!(await serve(request)));
  });
}

export interface FastReference {
  run(verb: FastVerb, args: string[], env: Record<string, string>): Promise<FastRun>;
  close(): void;
}

/** The reference in a child Node with the given environment; `close` ends it. */
export function startFastReference(env: Record<string, string>): FastReference {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['serve'], { env, execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting: Array<{ resolve: (run: FastRun) => void; reject: (err: Error) => void }> = [];
  let exited: Error | null = null;
  child.on('message', (run: FastRun) => waiting.shift()?.resolve(run));
  child.on('exit', (code, signal) => {
    exited = new Error(`the reference Node exited (${signal ?? code})`);
    for (const pending of waiting.splice(0)) pending.reject(exited);
  });
  return {
    run: (verb, args, runEnv) =>
      new Promise<FastRun>((resolve, reject) => {
        if (exited) return reject(exited);
        waiting.push({ resolve, reject });
        child.send({ verb, args, env: runEnv });
      }),
    close: () => child.kill('SIGKILL'),
  };
}
