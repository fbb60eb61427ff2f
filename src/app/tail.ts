import type { ChildProcess } from 'node:child_process';
import { writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { closeQuietly } from '../fd.js';
import { loadNative, type Native } from '../native.js';

/** How the app's stdout and stderr are wired for one start. */
export interface AppStreams {
  /** For `spawn`'s stdio[1] and stdio[2]. */
  stdio: [number | 'pipe', number | 'pipe'];
  /** Call once spawn() returned or threw (null): resolves when all the app wrote has been passed on. */
  attach(child: ChildProcess | null): Promise<void>;
}

/** Where the last bytes of output are kept: a native tail, or chunks in JavaScript. Chosen once. */
export interface Tail {
  readonly native: boolean;
  /** Native relays for one start, passing output on to `out` and into the tail; null when there are none. */
  relays(out: [number, number]): AppStreams | null;
  /** Keeps (and captures) bytes read in JavaScript. */
  push(chunk: Buffer): void;
  /** The kept bytes, oldest first, and whether older ones were dropped (the first line may be cut). */
  kept(): { bytes: Buffer; cut: boolean };
  /** Bytes ever passed through, kept or not. */
  passed(): number;
  /** From now on every byte passing through is also written to fd, up to maxBytes; -1 ends it. */
  capture(fd: number, maxBytes?: number): void;
}

/** The native tail when asked for and the module can open one, else the JavaScript one. */
export function openTail(keepBytes: number, native: boolean): Tail {
  const module = native ? loadNative() : null;
  if (module) {
    try {
      return nativeTail(module, module.tailOpen(keepBytes));
    } catch {
      // no tail pipe (out of fds, or every tail taken): output is kept in JavaScript
    }
  }
  return new MemoryTail(keepBytes);
}

/**
 * Threads splice the bytes from the app's pipes to our fds and keep the last keepBytes (teed into a
 * kernel pipe, copied into a ring once that pipe is full): no byte passes through JavaScript.
 */
function nativeTail(module: Native, id: number): Tail {
  return {
    native: true,
    relays(out) {
      const ends: Promise<void>[] = [];
      const fds: number[] = [];
      try {
        for (const fd of out) ends.push(new Promise<void>((resolve) => fds.push(module.relayStart(id, fd, resolve))));
      } catch {
        for (const fd of fds) closeQuietly(fd);
        return null;
      }
      return {
        stdio: [fds[0], fds[1]],
        attach: () => {
          for (const fd of fds) closeQuietly(fd); // the child has its copies; the relays end when it closes them
          return Promise.all(ends).then(() => undefined);
        },
      };
    },
    push: (chunk) => module.tailWrite(id, chunk),
    kept: () => ({ bytes: module.tailRead(id), cut: module.tailDropped(id) }),
    passed: () => module.tailCount(id),
    capture: (fd, maxBytes) => module.tailCapture(id, fd, maxBytes),
  };
}

/** Of each line, its first bytes are kept and a note says how many more it had (native/relay.c's LINE_KEEP). */
const lineKeepBytes = 4096;
const cutNote = (more: number) => Buffer.from(` … [${more} more bytes not kept]`);

/** Chunks as they came, each line cut to lineKeepBytes, the last keepBytes of them. */
class MemoryTail implements Tail {
  readonly native = false;
  private chunks: Buffer[] = [];
  private head = 0; // chunks before it are dropped
  private bytes = 0;
  private dropped = false;
  private total = 0;
  private lineLength = 0; // of the last line so far, kept or not
  private captureFd: number | null = null;
  private captureLeft = 0;

  constructor(private readonly keepBytes: number) {}

  relays(): null {
    return null;
  }

  push(chunk: Buffer): void {
    this.total += chunk.length;
    for (const part of this.lineHeads(chunk)) this.keep(part);
    if (this.captureFd !== null) {
      const part = chunk.subarray(0, this.captureLeft);
      writeAll(this.captureFd, part);
      this.captureLeft -= part.length;
      if (this.captureLeft === 0) this.captureFd = null;
    }
  }

  // The parts of chunk kept: runs of whole lines as they are, a long line up to its bound and a note.
  private lineHeads(chunk: Buffer): Buffer[] {
    const parts: Buffer[] = [];
    let run = 0;
    for (let at = 0; at < chunk.length; ) {
      const newline = chunk.indexOf(10, at);
      const end = newline < 0 ? chunk.length : newline;
      const before = this.lineLength;
      this.lineLength += end - at;
      if (this.lineLength > lineKeepBytes) {
        const bound = at + Math.max(0, lineKeepBytes - before);
        if (bound > run) parts.push(chunk.subarray(run, bound));
        run = end;
        if (newline >= 0) parts.push(cutNote(this.lineLength - lineKeepBytes));
      }
      if (newline < 0) break;
      this.lineLength = 0;
      at = newline + 1;
    }
    if (chunk.length > run) parts.push(chunk.subarray(run));
    return parts;
  }

  private keep(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.chunks.length - this.head > 1 && this.bytes - this.chunks[this.head].length >= this.keepBytes) {
      this.bytes -= this.chunks[this.head++].length;
      this.dropped = true;
    }
    if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  kept(): { bytes: Buffer; cut: boolean } {
    const last = this.lineLength > lineKeepBytes ? [cutNote(this.lineLength - lineKeepBytes)] : [];
    return { bytes: Buffer.concat([...this.chunks.slice(this.head), ...last]), cut: this.dropped };
  }

  passed(): number {
    return this.total;
  }

  capture(fd: number, maxBytes = 0): void {
    this.captureFd = fd < 0 ? null : fd;
    this.captureLeft = maxBytes;
  }
}

/** Pipes read here: each chunk is passed on to our fd, then kept. */
export function pipesReadHere(out: [number, number], tail: Tail): AppStreams {
  return {
    stdio: ['pipe', 'pipe'],
    attach: (child) => {
      if (!child) return Promise.resolve();
      passThrough(child.stdout, out[0], tail);
      passThrough(child.stderr, out[1], tail);
      return new Promise<void>((resolve) => {
        if (child.pid === undefined) return resolve();
        child.once('close', () => resolve());
      });
    },
  };
}

/**
 * Passes the app's stream to our own fd unchanged (the container's stdout/stderr) and feeds the tail.
 * Writes are synchronous so ordering is kept and a full pipe slows the app instead of growing our memory.
 */
function passThrough(stream: Readable | null | undefined, fd: number, tail: Tail): void {
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
