// The app's stdout passed through PID 1 to a file, against the app writing to that file itself. The
// app is `stamp T0 dd` copying log lines, a second after it was started: the clock starts when dd
// does and stops when the file is whole.

import { closeSync, existsSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { readStamp } from '../clock.js';
import { type Context, inTurns, scratch } from '../context.js';
import { initCommand, startPid1, writePid1Config } from '../pid1.js';
import { removeScratchDir, scratchDir, start, stop, type Started } from '../processes.js';
import { waitFor } from '../../helpers/wait.js';
import { ratioRow, type Row } from '../report.js';
import { summarize } from '../stats.js';

const blockBytes = 64 * 1024; // a pipe's default capacity

// nile in between; the app straight to the file; and, for what any process in between costs, `| cat`.
const ways = ['nile', 'direct', 'cat'] as const;
type Way = (typeof ways)[number];
const fullBytes = 256 * 2 ** 20;
const settleSeconds = 1;
// Looking at the file's size costs a core's time too; looked at every 1 ms, this competes with the copy on a 2-core machine.
const pollMs = 4;

export async function outputRows(ctx: Context): Promise<Row[]> {
  const dir = scratch(ctx, 'output');
  const config = writePid1Config(dir);
  // tmpfs when there is one: the disk's own noise is not what is measured.
  const onTmpfs = existsSync('/dev/shm');
  const sinkDir = onTmpfs ? scratchDir('/dev/shm/nile-bench-') : dir;
  const source = path.join(sinkDir, 'log-lines');
  const bytes = writeLogLines(source, ctx.quick ? 2 ** 20 : fullBytes);
  let measured: Map<Way, number[]>;
  try {
    measured = await inTurns(ctx, 7, ways, (way) => throughput(ctx, way, config, path.join(sinkDir, way), source, bytes));
  } finally {
    removeScratchDir(sinkDir);
  }
  const rates = Object.fromEntries(measured) as Record<Way, number[]>;
  const note = `${(bytes / 2 ** 20).toFixed(0)} MiB of ~120-byte log lines copied by dd in ${blockBytes / 1024} KiB blocks to a file on ${onTmpfs ? 'tmpfs' : 'disk'}, ${settleSeconds} s after the app's start; nile as PID 1 with its stdout on that file`;
  const direct = summarize(rates.direct);
  // `| cat` is the floor of any relay through a pipe: a second process moves every byte. Writing
  // straight to the file has no second process at all; it is shown, but no relay can match it.
  return [
    ratioRow('app stdout passed through, MB/s', { summary: summarize(rates.nile), unit: 'MB/s' }, { summary: summarize(rates.cat), unit: 'MB/s', label: '| cat' }, { min: 0.95 }, {
      note: `${note}; the app writing to the file itself: ${direct.median.toFixed(0)} MB/s (${direct.min.toFixed(0)}–${direct.max.toFixed(0)}), nile at ${(summarize(rates.nile).median / direct.median).toFixed(2)}× of it`,
      data: { direct },
    }),
  ];
}

/** What a Java service logs, about `bytes` of it; returns the exact size. */
function writeLogLines(file: string, bytes: number): number {
  const lines: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    const ms = String(i % 1000).padStart(3, '0');
    lines.push(`2024-05-01T12:00:00.${ms}Z INFO  [http-nio-8080-exec-${i % 16}] com.example.orders.OrderService - order ${i} handled in ${i % 50} ms\n`);
  }
  const block = Buffer.from(lines.join(''));
  const fd = openSync(file, 'w');
  let written = 0;
  for (; written < bytes; written += block.length) writeSync(fd, block);
  closeSync(fd);
  return written;
}

async function throughput(ctx: Context, way: Way, config: string, base: string, source: string, bytes: number): Promise<number> {
  const [stampFile, sink] = [`${base}.t0`, `${base}.out`];
  const copy = ['dd', `if=${source}`, `bs=${blockBytes}`, 'status=none'];
  const stamped = [ctx.natives.stamp, stampFile, ...(way === 'cat' ? ['sh', '-c', `${copy.join(' ')} | cat`] : copy)];
  // The copy starts once the init has settled: what is measured is the steady flow, not the init's own start beside it.
  const app = ['sh', '-c', `sleep ${settleSeconds}; exec "$@"`, 'app', ...stamped];
  const fd = openSync(sink, 'w');
  let started: Started | undefined;
  try {
    const stdio: ['ignore', number, 'ignore'] = ['ignore', fd, 'ignore'];
    started = way === 'nile' ? startPid1(initCommand('nile', app, config), { stdio }) : start(app[0], app.slice(1), { stdio });
    await waitFor('the whole output in the file', () => statSync(sink).size >= bytes, 60_000, { everyMs: pollMs });
    const end = process.hrtime.bigint();
    const begin = readStamp(stampFile);
    if (begin === undefined) throw new Error('the app left no stamp');
    return bytes / 1e6 / (Number(end - begin) / 1e9);
  } finally {
    closeSync(fd);
    if (started) await stop(started);
    rmSync(sink, { force: true });
    rmSync(stampFile, { force: true });
  }
}
