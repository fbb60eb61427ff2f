import type { ChildProcess } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { loadRelay, type RelayAddon } from './relay.js';

/** How the app's stdout and stderr are wired for one start. */
export interface AppStreams {
  /** For `spawn`'s stdio[1] and stdio[2]. */
  stdio: [number | 'pipe', number | 'pipe'];
  /** Call once spawn() returned or threw (null): resolves when all the app wrote has been passed on. */
  attach(child: ChildProcess | null): Promise<void>;
}

/**
 * The app's output on its way to the container's stdout and stderr, and its last bytes kept for the
 * failure report and the doctor. With the addon, threads splice the bytes from the app's pipes to
 * our fds and keep the last keepBytes (teed into a kernel pipe, copied into a ring once that pipe is
 * full): no byte passes through JavaScript. Without it, the bytes are read and written here. Either
 * way the tail is cut into lines only when asked: output is many, questions are few. A capture (a
 * thread dump) writes everything that passes to a file, however long.
 */
export class OutputTail {
  // The kernel-pipe tail and the addon that runs it; null when output goes through JavaScript.
  private readonly nativeTail: { relay: RelayAddon; id: number } | null = null;
  // The JavaScript tail: chunks as they came, the last keepBytes of them.
  private chunks: Buffer[] = [];
  private head = 0; // chunks before it are dropped
  private bytes = 0;
  private dropped = false;
  private total = 0; // bytes ever pushed
  private captureFrom: number | null = null;
  private captureFd: number | null = null; // the JavaScript path's capture file

  constructor(
    private readonly keepBytes = 256 * 1024, // the last few hundred lines, with room; a thread dump goes to its own file
    native = true,
  ) {
    const relay = native ? loadRelay() : null;
    try {
      if (relay) this.nativeTail = { relay, id: relay.tailOpen(keepBytes) };
    } catch {
      // no tail pipe (out of fds): output goes through JavaScript
    }
  }

  get native(): boolean {
    return this.nativeTail !== null;
  }

  /** The wiring for the next start: relays to our fds 1 and 2 (or `out`), or pipes read here. */
  streams(out: [number, number] = [1, 2]): AppStreams {
    if (this.nativeTail) {
      const { relay, id: tail } = this.nativeTail;
      const ends: Promise<void>[] = [];
      const fds: number[] = [];
      try {
        for (const fd of out) {
          ends.push(new Promise<void>((resolve) => fds.push(relay.relayStart(tail, fd, resolve))));
        }
      } catch {
        for (const fd of fds) closeQuietly(fd);
        return this.jsStreams(out);
      }
      return {
        stdio: [fds[0], fds[1]],
        attach: () => {
          for (const fd of fds) closeQuietly(fd); // the child has its copies; the relays end when it closes them
          return Promise.all(ends).then(() => undefined);
        },
      };
    }
    return this.jsStreams(out);
  }

  private jsStreams(out: [number, number]): AppStreams {
    return {
      stdio: ['pipe', 'pipe'],
      attach: (child) => {
        if (!child) return Promise.resolve();
        passThrough(child.stdout, out[0], this);
        passThrough(child.stderr, out[1], this);
        return new Promise<void>((resolve) => {
          if (child.pid === undefined) return resolve();
          child.once('close', () => resolve());
        });
      },
    };
  }

  /** Output read here (the JavaScript path). */
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    this.total += chunk.length;
    while (this.chunks.length - this.head > 1 && this.bytes - this.chunks[this.head].length >= this.keepBytes) {
      this.bytes -= this.chunks[this.head++].length;
      this.dropped = true;
    }
    if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    if (this.captureFd !== null) writeAll(this.captureFd, chunk);
  }

  private kept(): Buffer {
    if (this.nativeTail) return this.nativeTail.relay.tailRead(this.nativeTail.id);
    return Buffer.concat(this.chunks.slice(this.head));
  }

  private passed(): number {
    return this.nativeTail ? this.nativeTail.relay.tailCount(this.nativeTail.id) : this.total;
  }

  last(n = 50): string[] {
    const kept = this.kept();
    const lines = linesOf(kept);
    // The oldest line may have lost its start once anything was dropped.
    if (this.nativeTail !== null ? this.passed() > kept.length : this.dropped) lines.shift();
    return lines.slice(-n);
  }

  /** Writes the output from now on to fd as well, until stopCapture(): a thread dump, whole however large. */
  startCapture(fd: number): void {
    this.captureFrom = this.passed();
    if (this.nativeTail) this.nativeTail.relay.tailCapture(this.nativeTail.id, fd);
    else this.captureFd = fd;
  }

  /** Bytes of output since startCapture(), to tell when it has gone quiet. */
  capturedBytes(): number {
    return this.captureFrom === null ? 0 : this.passed() - this.captureFrom;
  }

  /** Ends the capture; the caller closes its fd. Returns the bytes captured. */
  stopCapture(): number {
    const bytes = this.capturedBytes();
    if (this.nativeTail) this.nativeTail.relay.tailCapture(this.nativeTail.id, -1);
    this.captureFd = null;
    this.captureFrom = null;
    return bytes;
  }
}

function linesOf(bytes: Buffer): string[] {
  if (bytes.length === 0) return [];
  const lines = bytes.toString('utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/**
 * Passes the app's stream to our own fd unchanged (the container's stdout/stderr) and feeds the tail.
 * Writes are synchronous so ordering is kept and a full pipe slows the app instead of growing our memory.
 */
function passThrough(stream: Readable | null | undefined, fd: number, tail: OutputTail): void {
  if (!stream) return;
  stream.on('data', (chunk: Buffer) => {
    writeAll(fd, chunk);
    tail.push(chunk);
  });
  stream.on('error', () => {});
}

function writeAll(fd: number, chunk: Buffer): void {
  let off = 0;
  for (let tries = 0; off < chunk.length && tries < 10_000; tries++) {
    try {
      off += writeSync(fd, chunk, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return; // the reader is gone: drop, never crash PID 1
    }
  }
}
