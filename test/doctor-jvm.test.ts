// Real JVMs failing in known ways; diagnose must name each cause from their output.
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import t from 'tap';
import { diagnose } from '../src/doctor/diagnose.js';
import { oomKillCount } from '../src/doctor/oom.js';
import { compileDoctorFixtures, runJava } from './helpers/jars.js';
import { freePort } from './helpers/ports.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'nile-doctor-jvm-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const classes = path.join(dir, 'classes');
await compileDoctorFixtures(classes, ['Hog', 'BindPort', 'Hello', 'NeedsHelper']);
// Findings of the test machine's own cgroup history stay out of the way.
const oomBaseline = (await oomKillCount()) ?? 0;

t.test('OutOfMemoryError with a heap dump: the finding names the heap and the dump file', async (t) => {
  const dumps = path.join(dir, 'dumps');
  const run = await runJava(classes, 'Hog', { jvmArgs: ['-Xmx16m', '-XX:+HeapDumpOnOutOfMemoryError', `-XX:HeapDumpPath=${dumps}.hprof`] });
  t.not(run.exitCode, 0, 'the JVM failed');
  const findings = await diagnose({ exitCode: run.exitCode, signal: run.signal, outputLines: run.lines, oomBaseline });
  t.equal(findings[0]?.cause, 'out-of-memory', JSON.stringify(findings));
  t.match(findings[0]!.summary, /Java heap space/);
  t.ok(findings[0]!.evidence.includes(`heap dump: ${dumps}.hprof`), 'the heap dump path is evidence');
  t.ok((await stat(`${dumps}.hprof`)).size > 0, 'and the dump is really there');
  t.equal(findings[findings.length - 1]!.cause, 'exit-status', 'the exit status comes last');
});

t.test('a port already taken by another server: port-in-use', async (t) => {
  const port = await freePort();
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const run = await runJava(classes, 'BindPort', { args: [String(port)] });
  t.equal(run.exitCode, 1);
  const findings = await diagnose({ exitCode: run.exitCode, outputLines: run.lines, oomBaseline });
  t.equal(findings[0]?.cause, 'port-in-use', JSON.stringify(findings));
  t.ok(findings[0]!.evidence.some((e) => e.includes('java.net.BindException: Address already in use')));
});

t.test('a class compiled for a newer Java (major version patched to 65): unsupported-class-version', async (t) => {
  const patched = path.join(dir, 'patched');
  await mkdir(patched);
  const file = path.join(patched, 'Hello.class');
  const bytes = await readFile(path.join(classes, 'Hello.class'));
  bytes.writeUInt16BE(65, 6); // class file: magic (4), minor (2), major (2)
  await writeFile(file, bytes);
  const run = await runJava(patched, 'Hello');
  t.equal(run.exitCode, 1);
  const findings = await diagnose({ exitCode: run.exitCode, outputLines: run.lines, oomBaseline });
  t.equal(findings[0]?.cause, 'unsupported-class-version', JSON.stringify(findings));
  t.match(findings[0]!.summary, /^Hello was compiled for Java 21 \(class file version 65\) but this JVM runs Java 17$/);
});

t.test('a class deleted after compiling: no-class-def-found with its ClassNotFoundException', async (t) => {
  const missing = path.join(dir, 'missing');
  await mkdir(missing);
  await copyFile(path.join(classes, 'NeedsHelper.class'), path.join(missing, 'NeedsHelper.class'));
  const run = await runJava(missing, 'NeedsHelper');
  t.equal(run.exitCode, 1);
  const findings = await diagnose({ exitCode: run.exitCode, outputLines: run.lines, oomBaseline });
  t.equal(findings[0]?.cause, 'no-class-def-found', JSON.stringify(findings));
  t.match(findings[0]!.summary, /class Helper /);
  t.ok(findings[0]!.evidence.some((e) => e.includes('java.lang.ClassNotFoundException: Helper')));
});

t.test('a main class that is not there: main-class-not-found', async (t) => {
  const run = await runJava(classes, 'com.example.Absent');
  t.equal(run.exitCode, 1);
  const findings = await diagnose({ exitCode: run.exitCode, outputLines: run.lines, oomBaseline });
  t.same(
    findings.map((f) => f.cause),
    ['main-class-not-found', 'exit-status'],
  );
  t.equal(findings[0]!.summary, 'the main class com.example.Absent cannot be found');
});

t.test('a JVM that refuses to start: a jar that is not there, an option it does not know', async (t) => {
  const noJar = await execa('java', ['-jar', path.join(dir, 'absent.jar')], { all: true, reject: false });
  const jarFindings = await diagnose({ exitCode: noJar.exitCode, outputLines: noJar.all!.split('\n'), oomBaseline });
  t.same(
    jarFindings.map((f) => [f.cause, f.summary]),
    [
      ['jar-not-found', `the jar ${path.join(dir, 'absent.jar')} cannot be opened`],
      ['exit-status', 'the app exited with status 1'],
    ],
  );
  const badOption = await runJava(classes, 'Hello', { jvmArgs: ['-XX:+UseConcMarkSweepGC'] });
  const optionFindings = await diagnose({ exitCode: badOption.exitCode, outputLines: badOption.lines, oomBaseline });
  t.same(
    optionFindings.map((f) => [f.cause, f.summary]),
    [
      ['bad-jvm-option', 'the JVM rejects the option UseConcMarkSweepGC'],
      ['exit-status', 'the app exited with status 1'],
    ],
  );
});

t.test('a healthy run: no findings', async (t) => {
  const run = await runJava(classes, 'Hello');
  t.equal(run.exitCode, 0);
  t.same(await diagnose({ exitCode: run.exitCode, outputLines: run.lines, oomBaseline }), []);
});
