import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { OutputTail } from '../src/app/output.js';
import { Nile } from './helpers/nile.js';
import { ROOT } from './helpers/paths.js';
import { freePort } from './helpers/ports.js';

const chunked = (text: string, size: number) => Array.from({ length: Math.ceil(text.length / size) }, (_, i) => Buffer.from(text.slice(i * size, (i + 1) * size)));

t.test('lines split across chunks come back whole, the last ones first kept', async (t) => {
  const tail = new OutputTail(256 * 1024, false);
  const text = Array.from({ length: 100 }, (_, i) => `line ${i} ü`).join('\n') + '\npartial';
  for (const chunk of chunked(text, 7)) tail.push(chunk);
  t.same(tail.last(3), ['line 98 ü', 'line 99 ü', 'partial']);
  t.equal(tail.last(1000).length, 101);
});

t.test('only about keepBytes are kept, and a line cut at the front is left out', async (t) => {
  const tail = new OutputTail(1000, false);
  for (let i = 0; i < 500; i++) tail.push(Buffer.from(`line number ${String(i).padStart(4, '0')}\n`)); // 17 bytes each
  const kept = tail.last(1000);
  t.ok(kept.length >= 1000 / 17 - 1 && kept.length <= 1000 / 17 + 1, `${kept.length} lines kept`);
  t.equal(kept.at(-1), 'line number 0499');
  t.ok(kept.every((line) => /^line number \d{4}$/.test(line)), 'no partial line');
  const big = new OutputTail(100, false);
  big.push(Buffer.from('x'.repeat(60) + '\n' + 'y'.repeat(60) + '\n'));
  big.push(Buffer.from('z\n'));
  t.same(big.last(1), ['z'], 'one chunk bigger than keepBytes is still kept whole while it is the newest');
});

t.test('a capture writes everything from its start to its file, up to its bound', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-capture-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'dump');
  const fd = openSync(file, 'w');
  const tail = new OutputTail(64, false);
  tail.push(Buffer.from('before\n'));
  const dump = Array.from({ length: 3000 }, (_, i) => `"thread-${i}" #${i} prio=5 RUNNABLE`).join('\n') + '\n';
  tail.startCapture(fd, dump.length);
  t.equal(tail.capturedBytes(), 0);
  for (const chunk of chunked(dump, 100)) tail.push(chunk);
  t.equal(tail.capturedBytes(), dump.length);
  tail.push(Buffer.from('flood after the dump\n'.repeat(1000)));
  t.equal(tail.stopCapture(), dump.length + 21_000, 'the output since the start is counted, kept or not');
  tail.push(Buffer.from('after\n'));
  closeSync(fd);
  t.equal(readFileSync(file, 'utf8'), dump, 'the file holds all of it up to the bound, and nothing from before or after');
  t.equal(tail.capturedBytes(), 0, 'nothing captured once stopped');
});

// The native tail keeps keepBytes whatever the writes look like and whatever the pipe may grow to:
// containers run without CAP_SYS_RESOURCE, where a pipe cannot grow past /proc/sys/fs/pipe-max-size.
const writers = {
  'thousands of small writes': `const fs = require('fs'); for (let i = 0; i < 30000; i++) fs.writeSync(1, 'small write number ' + String(i).padStart(6, '0') + ' of many\\n');`,
  'large writes': `const fs = require('fs'); for (let i = 0; i < 40; i++) fs.writeSync(1, Array.from({ length: 800 }, (_, j) => 'large write ' + String(i * 800 + j).padStart(6, '0') + ' ' + 'x'.repeat(60) + '\\n').join(''));`,
  'small and large writes mixed': `const fs = require('fs'); let n = 0; for (let i = 0; i < 3000; i++) { fs.writeSync(1, 'small ' + String(n++).padStart(6, '0') + '\\n'); if (i % 10 === 0) fs.writeSync(1, Array.from({ length: 300 }, () => 'mixed ' + String(n++).padStart(6, '0') + ' ' + 'y'.repeat(50) + '\\n').join('')); }`,
};
const keep = 1024 * 1024;
const tailRun = path.join(ROOT, 'dist', 'test', 'helpers', 'tail-run.js');
for (const [what, script] of Object.entries(writers)) {
  for (const capless of [false, true]) {
    t.test(`the native tail keeps the last ${keep} bytes: ${what}${capless ? ', without CAP_SYS_RESOURCE' : ''}`, async (t) => {
      const argv = [process.execPath, tailRun, String(keep), script];
      const run = spawnSync(capless ? 'setpriv' : argv[0]!, capless ? ['--bounding-set', '-sys_resource', ...argv] : argv.slice(1), { encoding: 'utf8', timeout: 90_000 });
      t.equal(run.status, 0, run.stderr);
      const kept = JSON.parse(run.stdout) as { native: boolean; bytes: number; last: string; count: number; exit: unknown; end: string[] };
      t.same(kept.exit, { code: 0, signal: null }, `the writer ended well; its last lines: ${kept.end.join(' | ')}`);
      t.ok(kept.native, 'through the native relay');
      t.ok(kept.bytes > keep * 0.95 && kept.bytes <= keep, `${kept.bytes} bytes kept in ${kept.count} lines`);
      t.match(kept.last, /(029999|031999|092999)( |$)/, 'the last line written is kept');
    });
  }
}

// A preload in NODE_OPTIONS that opens process.stdout (as the test runner's does) makes the pipe's write
// end non-blocking, and then a full pipe fails the writer's fs.writeSync with EAGAIN: the writer must not
// inherit it, or a relay slowed by load looks like one that closed the pipe.
t.test('the writer gets blocking stdout and stderr, whatever NODE_OPTIONS preloads', async (t) => {
  const script = `const fs = require('fs'); const nonblocking = (fd) => (parseInt(/flags:\\s*(\\d+)/.exec(fs.readFileSync('/proc/self/fdinfo/' + fd, 'utf8'))[1], 8) & 0o4000) !== 0; fs.writeSync(1, 'non-blocking: stdout ' + nonblocking(1) + ', stderr ' + nonblocking(2) + '\\n');`;
  const env = { ...process.env, NODE_OPTIONS: '--import=data:text/javascript,process.stdout;process.stderr' };
  const run = spawnSync(process.execPath, [tailRun, '65536', script], { encoding: 'utf8', timeout: 90_000, env });
  t.equal(run.status, 0, run.stderr);
  const kept = JSON.parse(run.stdout) as { last: string; exit: unknown; end: string[] };
  t.same(kept.exit, { code: 0, signal: null }, `the writer ended well; its last lines: ${kept.end.join(' | ')}`);
  t.equal(kept.last, 'non-blocking: stdout false, stderr false');
});

// The same questions, with a real child writing through each way of passing output on.
for (const native of [true, false]) {
  t.test(`a child's output passed on and kept (${native ? 'native relays' : 'JavaScript'})`, async (t) => {
    const [whole, tail] = [new OutputTail(1 << 20, native), new OutputTail(4096, native)];
    if (native && !tail.native) return t.fail('the addon has no relay: run make');
    t.equal(tail.native, native);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-output-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const [outFile, errFile] = [path.join(dir, 'out'), path.join(dir, 'err')];
    const out: [number, number] = [openSync(outFile, 'w'), openSync(errFile, 'w')];
    t.teardown(() => out.forEach((fd) => closeSync(fd)));
    const run = async (into: OutputTail, script: string) => {
      const streams = into.streams(out);
      const child = spawn('sh', ['-c', script], { stdio: ['ignore', ...streams.stdio] });
      const drained = streams.attach(child);
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await new Promise((resolve) => child.once('exit', resolve));
      await drained;
      clearTimeout(timer);
    };
    const script = 'i=0; while [ $i -lt 1000 ]; do echo "out $i"; i=$((i+1)); done; echo "err line" >&2; echo last';
    await run(whole, script);
    const written = readFileSync(outFile, 'utf8');
    t.equal(written.split('\n').length, 1002, 'every stdout line reached its fd');
    t.ok(written.endsWith('out 999\nlast\n'));
    t.equal(readFileSync(errFile, 'utf8'), 'err line\n', 'stderr reached its own fd');
    // Which of two pipes is read first is up to the scheduler: the order across them is not asserted.
    t.same([...whole.last(10_000)].sort(), [...Array.from({ length: 1000 }, (_, i) => `out ${i}`), 'err line', 'last'].sort(), 'stdout and stderr share the tail, all of it kept');
    await run(tail, script);
    const all = tail.last(10_000);
    t.ok(all.length > 100 && all.length < 1000, `only about keepBytes are kept (${all.length} lines)`);
    t.same(all.filter((line) => !/^(out \d+|err line|last)$/.test(line)), [], 'no line cut at the front');
    const dumpFile = path.join(dir, 'dump');
    const dumpFd = openSync(dumpFile, 'w');
    tail.startCapture(dumpFd, 32);
    await run(tail, 'echo "Full thread dump"; echo "\\"main\\" BLOCKED"; seq 100000');
    t.ok(tail.capturedBytes() > 32);
    tail.stopCapture();
    closeSync(dumpFd);
    t.equal(readFileSync(dumpFile, 'utf8'), 'Full thread dump\n"main" BLOCKED\n', 'a capture is what came since its start, up to its bound');
  });
}

// A JSON stack trace logged as one line of 300 KiB, more than the whole tail: it is kept cut to its
// first 4 KiB with a note, and the lines before it stay.
for (const native of [true, false]) {
  for (const ending of ['\\n', '']) {
    t.test(`a last line over the whole tail is cut, the lines before it kept (${native ? 'native relays' : 'JavaScript'}, ${ending ? 'ended' : 'unfinished'})`, async (t) => {
      const tail = new OutputTail(256 * 1024, native);
      if (native && !tail.native) return t.fail('the addon has no relay: run make');
      const devnull = openSync('/dev/null', 'w');
      t.teardown(() => closeSync(devnull));
      const streams = tail.streams([devnull, devnull]);
      const script = `for (let i = 0; i < 30; i++) process.stdout.write('before ' + i + '\\n'); process.stdout.write('{"level":"ERROR","stack":"' + 'at x.y(Z.java:1) '.repeat(18000) + '"}${ending}');`;
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', ...streams.stdio] });
      const drained = streams.attach(child);
      await new Promise((resolve) => child.once('exit', resolve));
      await drained;
      const lines = tail.last(50);
      t.same(lines.slice(0, 30), Array.from({ length: 30 }, (_, i) => `before ${i}`), 'every line before it is kept');
      t.equal(lines.length, 31);
      const last = lines[30]!;
      t.ok(last.startsWith('{"level":"ERROR","stack":"at x.y(Z.java:1) '), 'the long line begins as written');
      t.match(last, / … \[\d+ more bytes not kept\]$/, 'and says how much of it is not kept');
      t.ok(Buffer.byteLength(last) < 4096 + 64, `it is cut to its first 4 KiB (${Buffer.byteLength(last)} bytes)`);
      t.equal(Number(/\[(\d+) more/.exec(last)![1]) + 4096, 26 + 17 * 18000 + 2, 'the note counts the bytes cut');
    });
  }
}

t.test("the app's escape sequences reach status, doctor and the probe line escaped, not obeyed", async (t) => {
  const port = await freePort();
  const script = `printf 'plain\\n\\033[31mred\\033[0m \\033]0;title\\007 java.lang.OutOfMemoryError: \\033[2J gone\\n'; exit 1`;
  const nile = new Nile({ door: 'node', config: { project: 'escapes', app: { command: ['sh', '-c', script] }, probe: { http: { port }, interval: '200ms' } } });
  t.teardown(() => nile.stop());
  await nile.waitLog((l) => l.msg.startsWith('doctor:'), 'the doctor on the failure', 30_000);
  const said = { status: await nile.exec(['status']), doctor: await nile.exec(['doctor']), probe: await nile.exec(['probe']) };
  for (const [verb, { stdout }] of Object.entries(said)) {
    t.notOk(/[\x00-\x08\x0b-\x1f\x7f]/.test(stdout), `nile ${verb} prints no control character`);
    t.match(stdout, /\\x1b\[2J gone/, `nile ${verb} shows the sequence escaped`);
  }
  t.match(said.status.stdout, /\\x1b\[31mred\\x1b\[0m \\x1b\]0;title\\x07/, 'colours and titles are shown as text');
});
