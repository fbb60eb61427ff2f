import { writeSync } from 'node:fs';
import type { Readable } from 'node:stream';

/** The app's last output lines, kept for the failure report and the doctor. */
export class OutputTail {
  private lines: string[] = [];
  private partial = '';
  private capture: string[] | null = null;

  constructor(private readonly keep = 200) {}

  push(chunk: Buffer): void {
    const text = this.partial + chunk.toString('utf8');
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    if (this.partial.length > 64 * 1024) {
      parts.push(this.partial);
      this.partial = '';
    }
    for (const line of parts) this.add(line);
  }

  private add(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.keep * 2) this.lines = this.lines.slice(-this.keep);
    this.capture?.push(line);
  }

  last(n = 50): string[] {
    const all = this.partial ? [...this.lines, this.partial] : this.lines;
    return all.slice(-n);
  }

  /** Starts keeping every line from now on (a thread dump is longer than the tail). */
  startCapture(): void {
    this.capture = [];
  }

  capturedLines(): number {
    return this.capture?.length ?? 0;
  }

  stopCapture(): string[] {
    const got = this.capture ?? [];
    this.capture = null;
    return got;
  }
}

/**
 * Passes the app's stream to our own fd unchanged (the container's stdout/stderr) and feeds the tail.
 * Writes are synchronous so ordering is kept and a full pipe slows the app instead of growing our memory.
 */
export function passThrough(stream: Readable | null | undefined, fd: number, tail: OutputTail): void {
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
