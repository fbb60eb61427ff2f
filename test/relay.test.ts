import { execFile, execFileSync, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { loadNative as loadRelay, type Native as RelayAddon } from '../src/native.js';
import { ROOT } from './helpers/paths.js';
import { statOf } from './helpers/proc.js';
import { sleep, waitFor } from './helpers/wait.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-relay-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Numbered log-like lines, about `bytes` long, so a reordering or a lost chunk shows in the checksum. */
function logLines(bytes: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `2024-05-01T12:00:00Z INFO [worker-${i % 16}] request ${i} handled in ${(i * 7) % 1000} ms\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join(''));
}

function dataFile(name: string, bytes: number): { file: string; data: Buffer } {
  const data = logLines(bytes);
  const file = path.join(dir, name);
  writeFileSync(file, data);
  return { file, data };
}

/** Rejects when p has not settled within ms, so no test waits forever. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

const until = (what: string, check: () => boolean, ms = 20_000): Promise<boolean> => waitFor(what, check, ms, { everyMs: 20 });

/** Spawns a child that teardown kills if it is still running. */
function started(t: Test, command: string, args: string[], stdio: StdioOptions): ChildProcess {
  const child = spawn(command, args, { stdio });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

interface Started {
  fd: number;
  ended: Promise<void>;
  calls(): number;
}

function startRelay(relay: RelayAddon, tail: number, outFd: number): Started {
  let calls = 0;
  let resolve = () => {};
  const ended = new Promise<void>((r) => (resolve = r));
  const fd = relay.relayStart(tail, outFd, () => {
    calls++;
    resolve();
  });
  return { fd, ended, calls: () => calls };
}

/** Checks the tail holds at most keep bytes, at least half of them, and that they are the last ones written. */
function tailIsSuffix(t: Test, relay: RelayAddon, tail: number, keep: number, all: Buffer): void {
  const kept = relay.tailRead(tail);
  t.ok(kept.length <= keep && kept.length >= Math.min(keep / 2, all.length), `the tail keeps ${kept.length} of at most ${keep} bytes`);
  t.ok(kept.equals(all.subarray(all.length - kept.length)), 'the tail is the last bytes written');
  t.ok(relay.tailRead(tail).equals(kept), 'reading the tail does not consume it');
  t.equal(relay.tailCount(tail), all.length, 'tailCount is every byte written');
}

const relay = loadRelay();

/** `cat file` through a new relay (tail of 4096 bytes) to out, which is closed here unless keepOut; resolves with the tail once it ended. */
async function catThrough(t: Test, file: string, out: number, options: { keepOut?: boolean } = {}): Promise<number> {
  const tail = relay!.tailOpen(4096);
  const r = startRelay(relay!, tail, out);
  if (!options.keepOut) closeSync(out);
  const child = started(t, 'cat', [file], ['ignore', r.fd, 'ignore']);
  closeSync(r.fd);
  t.equal(await within(exited(child), 20_000, 'child exit'), 0);
  await within(r.ended, 20_000, 'onEnd');
  return tail;
}

t.test('the addon has the relay', async (t) => {
  t.ok(relay, 'loadRelay() found tailOpen, tailRead, tailCount and relayStart in the addon');
});

if (relay) {
  t.test('bad arguments throw a TypeError', async (t) => {
    const tail = relay.tailOpen(1024);
    const bad = relay as unknown as Record<string, (...args: unknown[]) => unknown>;
    t.throws(() => bad.tailOpen(0), TypeError);
    t.throws(() => bad.tailOpen(1.5), TypeError);
    t.throws(() => bad.tailOpen('1024'), TypeError);
    t.throws(() => bad.tailRead(tail + 100), TypeError);
    t.throws(() => bad.tailCount(-1), TypeError);
    t.throws(() => bad.relayStart(tail, 1), TypeError, 'onEnd missing');
    t.throws(() => bad.relayStart(tail, 'x', () => {}), TypeError);
    t.throws(() => bad.relayStart(99, 1, () => {}), TypeError);
    t.throws(() => bad.relayStart(tail, 987_654, () => {}), /not open|Bad file descriptor/, 'a closed outFd is refused');
    t.equal(relay.tailRead(tail).length, 0, 'a new tail is empty');
    t.equal(relay.tailCount(tail), 0);
  });

  t.test('bytes read in JavaScript are kept and captured as a relay would keep them', async (t) => {
    const tail = relay.tailOpen(4096);
    const bad = relay as unknown as Record<string, (...args: unknown[]) => unknown>;
    t.throws(() => bad.tailWrite(tail, 'text'), TypeError, 'a string is refused');
    t.throws(() => bad.tailWrite(99, Buffer.from('x')), TypeError, 'an unknown tail is refused');
    const capturePath = path.join(dir, 'written.capture');
    const capture = openSync(capturePath, 'w');
    relay.tailWrite(tail, Buffer.from('before\n'));
    t.throws(() => relay.tailCapture(tail, capture), TypeError, 'a capture without its bound is refused');
    relay.tailCapture(tail, capture, 10_000);
    closeSync(capture); // the tail has its own copy
    const written = logLines(20_000);
    for (let at = 0; at < written.length; at += 3000) relay.tailWrite(tail, written.subarray(at, at + 3000));
    relay.tailCapture(tail, -1);
    const all = Buffer.concat([Buffer.from('before\n'), written]);
    tailIsSuffix(t, relay, tail, 4096, all);
    t.ok(written.length > 10_000, `more was written (${written.length}) than the capture's bound`);
    t.equal(sha(readFileSync(capturePath)), sha(written.subarray(0, 10_000)), 'the capture holds what was written while it lasted, up to its bound');
  });

  t.test('a child writes MBs through a relay to a file: every byte in order, the tail keeps the last ones', async (t) => {
    const { file, data } = dataFile('big', 6 * 1024 * 1024);
    const expected = Buffer.concat([data, Buffer.from('idle final')]);
    const outPath = path.join(dir, 'big.out');
    const out = openSync(outPath, 'w');
    const keep = 100_000;
    const tail = relay.tailOpen(keep);
    const r = startRelay(relay, tail, out);
    closeSync(out); // the relay has its own copy of the fd
    // The child holds its output open until told to go, so the end cannot come early.
    const child = started(t, 'sh', ['-c', 'cat "$0"; read idle; printf "idle "; read go; printf final', file], ['pipe', r.fd, 'ignore']);
    closeSync(r.fd);
    await until('the bulk relayed', () => statSync(outPath).size >= data.length);
    // The relay waits on an idle pipe now; what comes after that wait proves it did not end in it.
    child.stdin!.write('idle\n');
    await until('the relay goes on after an idle wait', () => statSync(outPath).size >= data.length + 'idle '.length);
    t.equal(r.calls(), 0, 'onEnd is not called while the child still has its stdout open');
    child.stdin!.end('go\n');
    t.equal(await within(exited(child), 20_000, 'child exit'), 0);
    await within(r.ended, 20_000, 'onEnd');
    await sleep(100);
    t.equal(r.calls(), 1, 'onEnd is called once');
    const got = readFileSync(outPath);
    t.equal(got.length, expected.length, 'every byte arrived');
    t.equal(sha(got), sha(expected), 'in order (checksum)');
    tailIsSuffix(t, relay, tail, keep, expected);
  });

  t.test('stdout and stderr relays share one tail', async (t) => {
    const outPath = path.join(dir, 'two.out');
    const errPath = path.join(dir, 'two.err');
    const outFd = openSync(outPath, 'w');
    const errFd = openSync(errPath, 'w');
    const tail = relay.tailOpen(128 * 1024);
    const o = startRelay(relay, tail, outFd);
    const e = startRelay(relay, tail, errFd);
    closeSync(outFd);
    closeSync(errFd);
    const n = 3000;
    const script = `i=0; while [ $i -lt ${n} ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done`;
    const child = started(t, 'sh', ['-c', script], ['ignore', o.fd, e.fd]);
    closeSync(o.fd);
    closeSync(e.fd);
    t.equal(await within(exited(child), 30_000, 'child exit'), 0);
    await within(Promise.all([o.ended, e.ended]), 20_000, 'both onEnd');
    await sleep(100);
    t.same([o.calls(), e.calls()], [1, 1], 'each relay ends once');
    const lines = (prefix: string) => Array.from({ length: n }, (_, i) => `${prefix} ${i}\n`).join('');
    t.equal(readFileSync(outPath, 'latin1'), lines('out'), 'stdout whole and in order');
    t.equal(readFileSync(errPath, 'latin1'), lines('err'), 'stderr whole and in order');
    const total = statSync(outPath).size + statSync(errPath).size;
    t.equal(relay.tailCount(tail), total, 'tailCount counts both streams');
    // Everything fits the tail: it holds both streams, interleaved, each in its own order.
    const kept = relay.tailRead(tail).toString('latin1');
    t.equal(kept.length, total, 'the tail holds both streams');
    const of = (prefix: string) => kept.split('\n').filter((l) => l.startsWith(prefix + ' ')).map((l) => l + '\n').join('');
    t.equal(of('out'), lines('out'), 'stdout lines in the tail in order');
    t.equal(of('err'), lines('err'), 'stderr lines in the tail in order');
  });

  t.test('a tail smaller than the output keeps a contiguous end of each stream', async (t) => {
    const keep = 8192;
    const tail = relay.tailOpen(keep);
    const devNull = openSync('/dev/null', 'w');
    const o = startRelay(relay, tail, devNull);
    const e = startRelay(relay, tail, devNull);
    closeSync(devNull);
    const n = 20_000;
    const child = started(t, 'sh', ['-c', `i=0; while [ $i -lt ${n} ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done`], ['ignore', o.fd, e.fd]);
    closeSync(o.fd);
    closeSync(e.fd);
    t.equal(await within(exited(child), 60_000, 'child exit'), 0);
    await within(Promise.all([o.ended, e.ended]), 20_000, 'both onEnd');
    const kept = relay.tailRead(tail).toString('latin1');
    t.ok(kept.length <= keep && kept.length > keep / 2, `${kept.length} bytes kept of at most ${keep}`);
    const lines = kept.split('\n').slice(1, -1); // the first may have lost its start
    t.ok(lines.every((l) => /^(out|err) \d+$/.test(l)), 'whole lines only');
    for (const prefix of ['out', 'err']) {
      const numbers = lines.filter((l) => l.startsWith(prefix)).map((l) => Number(l.split(' ')[1]));
      t.ok(numbers.every((x, i) => i === 0 || x === numbers[i - 1] + 1), `${prefix}: a contiguous run (${numbers[0]}..${numbers.at(-1)})`);
    }
    t.ok(kept.endsWith(`out ${n - 1}\n`) || kept.endsWith(`err ${n - 1}\n`), 'ends with a stream\'s last line');
    t.equal(relay.tailCount(tail), 2 * Array.from({ length: n }, (_, i) => `out ${i}\n`.length).reduce((a, b) => a + b), 'tailCount counts both');
  });

  t.test('a destination nobody reads blocks the app; once closed (EPIPE) the app finishes', async (t) => {
    const fifo = path.join(dir, 'epipe');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK); // held open, never read
    let readerOpen = true;
    t.teardown(() => {
      if (readerOpen) closeSync(reader);
    });
    const writer = openSync(fifo, constants.O_WRONLY); // blocking
    const { file, data } = dataFile('epipe-data', 8 * 1024 * 1024);
    const tail = relay.tailOpen(64 * 1024);
    const r = startRelay(relay, tail, writer);
    closeSync(writer);
    const child = started(t, 'cat', [file], ['ignore', r.fd, 'ignore']);
    closeSync(r.fd);
    // cat only sleeps writing to the full pipe: its file is read without waiting.
    await until('cat blocked on its write', () => statOf(child.pid!)?.state === 'S');
    t.equal(child.exitCode, null, 'the app is held back by the full destination (backpressure)');
    t.equal(r.calls(), 0, 'no end yet');
    t.ok(relay.tailCount(tail) < data.length, `only ${relay.tailCount(tail)} bytes went through`);
    closeSync(reader);
    readerOpen = false;
    t.equal(await within(exited(child), 20_000, 'child exit'), 0, 'the app finishes once the destination is gone');
    await within(r.ended, 20_000, 'onEnd');
    tailIsSuffix(t, relay, tail, 64 * 1024, data);
  });

  t.test('a non-blocking pipe destination with a slow reader loses nothing', async (t) => {
    const fifo = path.join(dir, 'nonblock');
    execFileSync('mkfifo', [fifo]);
    const outPath = path.join(dir, 'nonblock.out');
    // The reader opens the FIFO, then sleeps before reading: the relay's writes meet EAGAIN meanwhile.
    const reader = started(t, 'sh', ['-c', 'exec 3<"$0"; sleep 0.5; exec cat <&3 >"$1"', fifo, outPath], 'ignore');
    let out = -1;
    await until('the reader opened the FIFO', () => {
      try {
        out = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
        return true;
      } catch {
        return false; // ENXIO until the reader is there
      }
    }, 10_000);
    const { file, data } = dataFile('nonblock-data', 4 * 1024 * 1024);
    const tail = await catThrough(t, file, out);
    t.equal(await within(exited(reader), 20_000, 'reader exit'), 0, 'the reader saw the end once the relay let go');
    t.equal(sha(readFileSync(outPath)), sha(data), 'every byte arrived in order');
    tailIsSuffix(t, relay, tail, 4096, data);
  });

  t.test('a non-blocking socket destination loses nothing', async (t) => {
    const outPath = path.join(dir, 'socket.out');
    // A child's stdin from spawn is one end of a socketpair; Node keeps its end non-blocking.
    const reader = started(t, 'sh', ['-c', 'sleep 0.5; exec cat >"$0"', outPath], ['pipe', 'ignore', 'ignore']);
    const socketFd = (reader.stdin as unknown as { _handle: { fd: number } })._handle.fd;
    t.ok(socketFd > 2, `the socket is fd ${socketFd}`);
    const { file, data } = dataFile('socket-data', 4 * 1024 * 1024);
    await catThrough(t, file, socketFd, { keepOut: true });
    reader.stdin!.end();
    t.equal(await within(exited(reader), 20_000, 'reader exit'), 0);
    t.equal(sha(readFileSync(outPath)), sha(data), 'every byte arrived in order');
  });

  t.test('a destination splice refuses (O_APPEND) falls back to copying', async (t) => {
    const outPath = path.join(dir, 'append.out');
    writeFileSync(outPath, 'before\n');
    const out = openSync(outPath, 'a');
    const { file, data } = dataFile('append-data', 4 * 1024 * 1024);
    const tail = await catThrough(t, file, out);
    t.equal(sha(readFileSync(outPath)), sha(Buffer.concat([Buffer.from('before\n'), data])), 'appended whole and in order');
    tailIsSuffix(t, relay, tail, 4096, data);
  });

  // In a process of its own: whether the relay lets the event loop end, and what a throwing onEnd does.
  const script = (onEnd: string) => `
    import { createRequire } from 'node:module';
    import { spawn } from 'node:child_process';
    import { closeSync } from 'node:fs';
    const addon = createRequire(import.meta.url)(${JSON.stringify(path.join(ROOT, 'build', 'Release', 'nile_native.node'))});
    const tail = addon.tailOpen(1024);
    const fd = addon.relayStart(tail, 1, () => { process.stdout.write('ended ' + addon.tailCount(tail) + '\\n'); ${onEnd} });
    spawn('sh', ['-c', 'echo hello'], { stdio: ['ignore', fd, 'inherit'] });
    closeSync(fd);
  `;
  const run = (onEnd: string) =>
    new Promise<{ code: number | null; killed: boolean; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--input-type=module', '-e', script(onEnd)], { timeout: 15_000, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, killed: error?.killed ?? false, stdout, stderr });
      });
    });

  t.test('after the end the relay does not keep the process alive', async (t) => {
    const got = await run('');
    t.notOk(got.killed, 'the process exited by itself');
    t.equal(got.code, 0);
    t.equal(got.stdout, 'hello\nended 6\n', 'the output went through, then onEnd ran');
  });

  t.test('an onEnd that throws is an uncaught exception', async (t) => {
    const got = await run(`throw new Error('boom from onEnd');`);
    t.notOk(got.killed, 'the process exited by itself');
    t.not(got.code, 0, 'with a failure status');
    t.match(got.stderr, /boom from onEnd/);
  });
}
