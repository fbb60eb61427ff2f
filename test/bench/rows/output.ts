// The app's stdout passed on by nile's relay, against `| cat` (any process in between) and the app
// writing to the reader itself. The three share everything else: the producer (`stamp T0 dd` copying
// log lines from tmpfs, a second after the app's start), the reader (sink: a plain 64 KiB pipe read
// 128 KiB at a time, the lines counted), the bytes. Measured: throughput from the stamp to the sink's
// last byte, and the CPU the process in between spent on it (nile's agent, all threads; cat), read
// while it still runs: the app sleeps after dd, so neither ends before it is read.

import { closeSync, existsSync, openSync, readFileSync, readlinkSync, rmSync, watch, writeSync } from 'node:fs';
import path from 'node:path';
import { waitStamp } from '../clock.js';
import { type Context, inTurns, scratch } from '../context.js';
import { unshare, writePid1Config } from '../pid1.js';
import { cpuNs } from '../proc.js';
import { removeScratchDir, scratchDir, start, stop } from '../processes.js';
import { alive, childrenOf } from '../../helpers/proc.js';
import { waitFor } from '../../helpers/wait.js';
import { NILE_NATIVE } from '../../helpers/paths.js';
import { ratioRow, type Row } from '../report.js';
import { describe, summarize } from '../stats.js';

export const outputWays = ['nile', 'cat', 'direct'] as const;
export type OutputWay = (typeof outputWays)[number];

const blockBytes = 64 * 1024;
const fullBytes = 256 * 2 ** 20;
const settleSeconds = 1;

/** Where the ways run: the host's paths, and how a command is started there (its stdout the sink's pipe). */
export interface OutputPlace {
  /** The folder the source, stamps and nile.yaml are in, as the commands see it, and as this process does. */
  inside: string;
  outside: string;
  stamp: string; // the stamp program, as the commands see it
  /** argv that runs `command` there, nile's way or as a plain process. */
  launch(way: OutputWay, command: string[], config: string): string[];
  /** The process in between, once it runs (host pids): nile's agent, or cat. */
  middle(way: Exclude<OutputWay, 'direct'>, launched: number): number | undefined;
  /** Ends what a round left running, after the sink had its bytes. */
  end(launched: number): Promise<void>;
}

export interface OutputRun {
  mbs: Record<OutputWay, number[]>;
  cpuPerGiB: Record<'nile' | 'cat', number[]>; // s of CPU per GiB passed through
  lines: number; // lines each subject's sink counted, every round alike
  bytes: number;
}

/** On the host: nile as PID 1 of its own PID namespace (unshare, as a runtime starts it), the others plain. */
export async function outputRows(ctx: Context): Promise<Row[]> {
  const dir = scratch(ctx, 'output');
  const onTmpfs = existsSync('/dev/shm');
  const work = onTmpfs ? scratchDir('/dev/shm/nile-bench-') : dir;
  try {
    const place: OutputPlace = {
      inside: work,
      outside: work,
      stamp: ctx.natives.stamp,
      launch: (way, command, config) => (way === 'nile' ? [...unshare, NILE_NATIVE, 'run', '--config', config, '--', ...command] : command),
      middle: (way, launched) => descendants(launched).find((pid) => programOf(pid) === middleProgram[way]),
      end: async (launched) => killAll([launched, ...descendants(launched)]),
    };
    const measured = await measureOutput(ctx, place, writePid1Config(work));
    return outputRowsOf(measured, `on the host (node ${process.version}), reading from and counting into ${onTmpfs ? 'tmpfs' : 'disk'}`);
  } finally {
    removeScratchDir(work);
  }
}

/** The three ways in turns at `place`. */
export async function measureOutput(ctx: Context, place: OutputPlace, config: string): Promise<OutputRun> {
  const bytes = writeLogLines(path.join(place.outside, 'log-lines'), ctx.quick ? 4 * 2 ** 20 : fullBytes);
  const lineCounts = new Set<number>();
  const cpuPerGiB = { nile: [] as number[], cat: [] as number[] };
  const mbs = await inTurns(ctx, 7, outputWays, async (way) => {
    const round = await throughput(ctx, place, way, config, bytes);
    lineCounts.add(round.lines);
    if (way !== 'direct') cpuPerGiB[way].push(round.cpuSeconds / (bytes / 2 ** 30));
    return round.mbs;
  });
  if (lineCounts.size !== 1) throw new Error(`the sink counted different lines: ${[...lineCounts].join(', ')}`);
  return { mbs: Object.fromEntries(mbs) as Record<OutputWay, number[]>, cpuPerGiB, lines: [...lineCounts][0], bytes };
}

export function outputRowsOf(run: OutputRun, where: string, figure = 'app stdout passed through, MB/s'): Row[] {
  const mbs = (way: OutputWay, label?: string) => ({ summary: summarize(run.mbs[way]), unit: 'MB/s', label });
  const cpu = (way: 'nile' | 'cat') => summarize(run.cpuPerGiB[way]);
  const direct = summarize(run.mbs.direct);
  const producer = `${(run.bytes / 2 ** 20).toFixed(0)} MiB of ~120-byte log lines written by dd in ${blockBytes / 1024} KiB blocks, ${settleSeconds} s after the app's start`;
  return [
    ratioRow(figure, mbs('nile'), mbs('cat', 'cat'), { min: 0.95 }, {
      note: `${where}; ${producer}; one reader for all (a 64 KiB pipe read 128 KiB at a time; ${run.lines.toLocaleString('en')} lines counted each round, every round alike: none lost); the three in turns. The app's pipe is 1 MiB under nile (the relay grows it), 64 KiB before cat; dd writing to the reader itself: ${describe(direct, 'MB/s', 0)}, nile at ${(summarize(run.mbs.nile).median / direct.median).toFixed(2)}× of it`,
      data: { direct, lines: run.lines },
    }),
    {
      ...ratioRow(`${figure.replace(/, MB\/s$/, '')}: CPU of the process in between, s per GiB`, { summary: cpu('nile'), unit: 's' }, { summary: cpu('cat'), unit: 's', label: 'cat' }, { max: Infinity }),
      target: 'report',
      met: null,
      note: `${where}; user+sys of nile's agent (every thread) and of cat from dd's start to the sink's last byte; the relay splices the bytes on and reads each once more to keep the tail's lines, cat reads and writes them`,
    },
  ];
}

interface Round {
  mbs: number;
  cpuSeconds: number;
  lines: number;
}

async function throughput(ctx: Context, place: OutputPlace, way: OutputWay, config: string, bytes: number): Promise<Round> {
  const file = (name: string) => [path.join(place.inside, `${way}.${name}`), path.join(place.outside, `${way}.${name}`)];
  const [t0In, t0] = file('t0');
  const [, result] = file('result');
  const dd = `${place.stamp} ${t0In} dd if=${path.join(place.inside, 'log-lines')} bs=${blockBytes} status=none`;
  // After dd the app sleeps: the process in between is still there to be read, and the sink stops at `bytes`.
  const app = way === 'cat' ? `sleep ${settleSeconds}; (${dd}; exec sleep 600) | cat` : `sleep ${settleSeconds}; ${dd}; exec sleep 600`;
  const sink = start(ctx.natives.sink, [String(bytes), result, '--', ...place.launch(way, ['sh', '-c', app], config)]);
  let launched: number | undefined;
  try {
    launched = await waitFor('the sink\'s command', () => childrenOf(sink.proc.pid!)[0], 10_000);
    const begin = await waitStamp(t0, 60_000);
    const under = launched;
    const middle = way === 'direct' ? undefined : await waitFor(`${way} in between`, () => place.middle(way, under), 10_000);
    const cpuBefore = middle ? cpuNs(middle) : 0;
    await appears(result, 120_000);
    const [end, got, lines] = readFileSync(result, 'utf8').trim().split(' ').map(BigInt);
    const cpuSeconds = middle ? (cpuNs(middle) - cpuBefore) / 1e9 : 0;
    if (Number(got) !== bytes) throw new Error(`${way}: the sink had ${got} of ${bytes} bytes`);
    return { mbs: bytes / 1e6 / (Number(end - begin) / 1e9), cpuSeconds, lines: Number(lines) };
  } finally {
    // The app sleeps after dd, and a round that failed may have left all of it: ended here either way.
    if (launched !== undefined) await place.end(launched);
    await stop(sink);
    rmSync(result, { force: true });
    rmSync(t0, { force: true });
  }
}

/**
 * Resolves once `file` is there, told by inotify: looking for it over and over would take a core's
 * time from the copy it waits for (the sink renames its result into place once).
 */
function appears(file: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const watcher = watch(path.dirname(file), () => existsSync(file) && done());
    const timer = setTimeout(() => done(new Error(`${file} did not appear in ${timeoutMs} ms`)), timeoutMs);
    function done(err?: Error) {
      watcher.close();
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    }
    if (existsSync(file)) done();
  });
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

/** Every process under `pid`, children before theirs. */
export function descendants(pid: number): number[] {
  const found: number[] = [];
  for (let queue = childrenOf(pid); queue.length > 0 && found.length < 1000; ) {
    const next = queue.shift()!;
    found.push(next);
    queue.push(...childrenOf(next));
  }
  return found;
}

/** The process in between, by its program: nile's agent runs node (whatever its title says). */
export const middleProgram = { nile: 'node', cat: 'cat' } as const;

/** The name of the program a process runs, from /proc/PID/exe. */
export function programOf(pid: number): string {
  try {
    return path.basename(readlinkSync(`/proc/${pid}/exe`));
  } catch {
    return '';
  }
}

/** SIGKILL to each, then wait until they are gone (killing unshare takes its PID namespace with it). */
export async function killAll(pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await waitFor('the round\'s processes to end', () => !pids.some(alive), 10_000);
}
