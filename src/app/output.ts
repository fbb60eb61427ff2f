import { openTail, pipesReadHere, type AppStreams, type Tail } from './tail.js';

/**
 * The app's output on its way to the container's stdout and stderr, and its last bytes kept for the
 * failure report and the doctor (src/app/tail.ts: native relays, or pipes read in JavaScript where
 * there are none). The tail is cut into lines only when asked: output is many, questions are few. A
 * capture (a thread dump) writes what passes to a file, up to its bound.
 */
export class OutputTail {
  private readonly tail: Tail;
  private captureFrom: number | null = null;

  constructor(
    keepBytes = 256 * 1024, // the last few hundred lines, with room; a thread dump goes to its own file
    native = true,
  ) {
    this.tail = openTail(keepBytes, native);
  }

  get native(): boolean {
    return this.tail.native;
  }

  /** The wiring for the next start: relays to our fds 1 and 2 (or `out`), or pipes read here. */
  streams(out: [number, number] = [1, 2]): AppStreams {
    return this.tail.relays(out) ?? pipesReadHere(out, this.tail);
  }

  /** Output read here. */
  push(chunk: Buffer): void {
    this.tail.push(chunk);
  }

  last(n = 50): string[] {
    const { bytes, cut } = this.tail.kept();
    const lines = linesOf(bytes);
    if (cut) lines.shift(); // the oldest line may have lost its start
    return lines.slice(-n);
  }

  /** Writes the output from now on to fd as well, its first maxBytes, until stopCapture(). */
  startCapture(fd: number, maxBytes: number): void {
    this.captureFrom = this.tail.passed();
    this.tail.capture(fd, maxBytes);
  }

  /** Bytes of output since startCapture(), written to fd or past its bound: to tell when it has gone quiet. */
  capturedBytes(): number {
    return this.captureFrom === null ? 0 : this.tail.passed() - this.captureFrom;
  }

  /** Ends the capture; the caller closes its fd. Returns the bytes captured. */
  stopCapture(): number {
    const bytes = this.capturedBytes();
    this.tail.capture(-1);
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
