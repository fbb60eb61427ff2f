// Runs one writer child through a native OutputTail and prints what the tail kept, as JSON. A separate
// process so a test can run it without CAP_SYS_RESOURCE, as containers run by default.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { OutputTail } from '../../src/app/output.js';

const [keep, script] = [Number(process.argv[2]), process.argv[3]!];
const tail = new OutputTail(keep, true);
const devnull = openSync('/dev/null', 'w');
const streams = tail.streams([devnull, devnull]);
// The writer is a plain app: a preload from NODE_OPTIONS that opens process.stdout would make its pipe
// non-blocking, and its fs.writeSync fail with EAGAIN whenever the pipe is full.
const env = { ...process.env };
delete env.NODE_OPTIONS;
const child = spawn(process.execPath, ['-e', script], { env, stdio: ['ignore', ...streams.stdio] });
const drained = streams.attach(child);
const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
await drained;
clearTimeout(timer);
closeSync(devnull);
const lines = tail.last(1_000_000);
process.stdout.write(JSON.stringify({ native: tail.native, bytes: lines.reduce((n, l) => n + l.length + 1, 0), first: lines[0], last: lines.at(-1), count: lines.length, exit, end: lines.slice(-8) }) + '\n');
