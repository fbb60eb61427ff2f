// The thread dump of a start that timed out, kept in runDir: SIGQUIT makes the JVM print every
// thread's stack to stdout; that output is captured (bounded), then redacted line by line into the
// file the report names. Whatever the app prints after it, the agent's memory and disk stay bounded.
import { closeSync, constants, unlinkSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { sleep } from '../toolbox/sleep.js';
import { redactLines, type Redactor } from '../redact.js';
import { openOwnFile } from '../run-dir.js';
import type { OutputTail } from './output.js';

/** What is kept of the output after SIGQUIT: the dump of a few thousand deep stacks; a flood after it is cut. */
export const threadDumpMaxBytes = 16 * 1024 * 1024;
/** A line of the kept dump is cut at this many characters (a frame is a few dozen). */
const threadDumpMaxLine = 4096;
// A dump of thousands of threads takes a while to print; it is over once the output is quiet. An app
// that prints nothing on SIGQUIT (not a JVM) is given up on sooner.
const waitMs = 15_000;
const quietMs = 500;
const firstMs = 3000;
const chunkBytes = 64 * 1024;

/** What the app printed after SIGQUIT, and whether it was a JVM's dump (a shell prints `Quit`). */
export interface KeptDump {
  output: number;
  dump: boolean;
}

// HotSpot's dump begins with this line; output without it is no thread dump.
const dumpHeader = Buffer.from('Full thread dump');

/**
 * Asks for the dump (askForDump sends SIGQUIT), captures the output until it is quiet or the bound is
 * reached, and writes it redacted to file; output that holds no dump (a shell's `Quit`) leaves no file,
 * so thread-dump.txt always holds a dump. The raw capture lives in a file with no name, so an
 * unredacted byte is never left in runDir, even if nile dies meanwhile.
 */
export async function keepThreadDump(tail: OutputTail, file: string, redact: Redactor, askForDump: () => void): Promise<KeptDump> {
  const rawName = `${file}.raw`;
  const raw = openOwnFile(rawName);
  let rawRead;
  try {
    rawRead = await open(rawName, constants.O_RDONLY | constants.O_NOFOLLOW);
  } finally {
    unlinkSync(rawName);
  }
  let output = 0;
  tail.startCapture(raw, threadDumpMaxBytes);
  try {
    askForDump();
    output = await untilQuiet(tail);
  } finally {
    tail.stopCapture();
    closeSync(raw);
  }
  let dump;
  try {
    dump = await writeRedacted(rawRead, file, redact, output);
  } finally {
    await rawRead.close();
  }
  if (!dump) unlinkSync(file);
  return { output, dump };
}

// Bytes of output once it went quiet, the capture filled up, or the wait ran out.
async function untilQuiet(tail: OutputTail): Promise<number> {
  const asked = Date.now();
  let seen = 0;
  let quietSince = asked;
  while (Date.now() < asked + waitMs && seen < threadDumpMaxBytes) {
    await sleep(100);
    const bytes = tail.capturedBytes();
    if (bytes !== seen) {
      seen = bytes;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= (seen > 0 ? quietMs : firstMs)) break;
  }
  return tail.capturedBytes();
}

// Whether the raw output held a dump's header line, looked for across the chunks' edges.
async function writeRedacted(raw: Awaited<ReturnType<typeof open>>, file: string, redact: Redactor, output: number): Promise<boolean> {
  const out = openOwnFile(file);
  try {
    const lines = redactLines(redact, threadDumpMaxLine);
    const buffer = Buffer.alloc(chunkBytes);
    let kept = 0;
    let dump = false;
    let edge = Buffer.alloc(0);
    for (let read = -1; read !== 0 && kept < threadDumpMaxBytes; kept += read) {
      ({ bytesRead: read } = await raw.read(buffer, 0, buffer.length, kept));
      const chunk = buffer.subarray(0, read);
      dump ||= Buffer.concat([edge, chunk]).includes(dumpHeader);
      edge = Buffer.from(chunk.subarray(Math.max(0, read - dumpHeader.length + 1)));
      writeText(out, lines.write(chunk));
    }
    writeText(out, lines.end());
    if (output > kept) writeText(out, `\n[nile: the app printed ${output - kept} more bytes after these; they were not kept]\n`);
    return dump;
  } finally {
    closeSync(out);
  }
}

function writeText(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
}
