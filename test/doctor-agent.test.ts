// `nile doctor` and the probe's reason over real failures of an app nile supervises.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, rmdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { memoryCgroup, removeCgroup } from './helpers/cgroup.js';
import { buildConflictingFatJar, compileDoctorFixtures } from './helpers/jars.js';
import { fixtureCommand, JAVA, Nile } from './helpers/nile.js';
import { freePort } from './helpers/ports.js';

const work = await mkdtemp(path.join(os.tmpdir(), 'nile-doctor-agent-'));
t.teardown(() => rm(work, { recursive: true, force: true }));
const classes = path.join(work, 'classes');
await compileDoctorFixtures(classes, ['Hog']);

async function doctor(nile: Nile) {
  const run = await nile.exec(['doctor', '--json'], 60_000);
  return { code: run.code, ...(JSON.parse(run.stdout) as { phase: string; findings: Array<{ cause: string; summary: string; evidence: string[] }> }) };
}

const failedStart = (nile: Nile) => nile.waitLog((l) => l.msg.startsWith('doctor: '), 'the doctor on the failure', 60_000);

t.test('a healthy app: nile doctor exits 0 and says so', async (t) => {
  const port = await freePort();
  const nile = new Nile({ config: { project: 'healthy', app: { command: fixtureCommand('--port', String(port)) }, probe: { http: { port }, interval: '200ms' } } });
  t.teardown(() => nile.stop());
  await nile.waitPhase('ready', 30_000);
  const run = await nile.exec(['doctor'], 60_000);
  t.equal(run.code, 0);
  t.equal(run.stdout, 'nothing found (app ready)\n');
});

t.test('the port already taken by another process', async (t) => {
  const port = await freePort();
  const squatter = net.createServer().listen(port, '127.0.0.1');
  t.teardown(() => squatter.close());
  const nile = new Nile({ config: { project: 'port', app: { command: fixtureCommand('--port', String(port)) }, probe: { http: { port }, interval: '200ms' } } });
  t.teardown(() => nile.stop());
  await failedStart(nile);
  const result = await doctor(nile);
  t.equal(result.code, 1);
  t.equal(result.findings[0].cause, 'port-in-use');
  t.match(result.findings[0].evidence.join('\n'), /BindException: Address already in use/);
  t.match((await nile.exec(['probe'])).stdout, /^not ready: startup failed: app exited with status 1 after .*; .*port .*in use.* \(nile status has the report\)/, 'the probe line names the first finding');
});

t.test('a JVM that dies of OutOfMemoryError, with its heap dump path', async (t) => {
  const nile = new Nile({ config: { project: 'oome', type: 'worker', app: { command: [...JAVA.slice(0, 1), '-Xmx16m', '-XX:+HeapDumpOnOutOfMemoryError', `-XX:HeapDumpPath=${work}/oome.hprof`, '-cp', classes, 'Hog'] } } });
  t.teardown(() => nile.stop());
  await failedStart(nile);
  const result = await doctor(nile);
  const oom = result.findings.find((f) => f.cause.startsWith('out-of-memory'));
  t.ok(oom, `an out-of-memory finding (got ${result.findings.map((f) => f.cause).join(', ')})`);
  t.match(oom!.summary, /heap/i);
  t.match(oom!.evidence.join('\n'), `${work}/oome.hprof`, 'the heap dump path is in the evidence');
});

t.test('a missing main class at start', async (t) => {
  const nile = new Nile({ config: { project: 'nomain', type: 'worker', app: { command: [...JAVA, '-cp', classes, 'com.example.Missing'] } } });
  t.teardown(() => nile.stop());
  await failedStart(nile);
  const result = await doctor(nile);
  t.match(result.findings.map((f) => `${f.cause} ${f.summary}`).join('\n'), /com\.example\.Missing/);
});

t.test('a start that times out: the thread dump shows the blocked thread', async (t) => {
  const port = await freePort();
  const nile = new Nile({ config: { project: 'stuck', app: { command: fixtureCommand('--port', String(port), '--never-ready'), startTimeout: '3s' }, probe: { http: { port }, interval: '200ms' } } });
  t.teardown(() => nile.stop());
  await failedStart(nile);
  const result = await doctor(nile);
  const blocked = result.findings.find((f) => /main/.test(f.summary) && /config-loader|BLOCKED|lock/i.test(f.summary + f.evidence.join(' ')));
  t.ok(blocked, `a finding names main blocked on the lock (got ${result.findings.map((f) => f.summary).join(' | ')})`);
});

t.test('two versions of one artifact and a class in two jars in the fat jar', async (t) => {
  const jar = await buildConflictingFatJar(path.join(work, 'fat'));
  const nile = new Nile({ config: { project: 'fat', type: 'worker', app: { command: ['sh', '-c', 'echo started; exit 1'], jar: jar.path } } });
  t.teardown(() => nile.stop());
  await failedStart(nile);
  const causes = (await doctor(nile)).findings.map((f) => `${f.cause}: ${f.summary} ${f.evidence.join(' ')}`).join('\n');
  t.match(causes, /conflicting-versions: .*com\.example:greeter.*1\.0\.0.*2\.0\.0/);
  t.match(causes, /duplicate-class: .*com\.example\.shared\.Util/s, causes);
});

t.test('a -cp classpath with a wildcard: the NoSuchMethodError is tied to the two versions of its class', async (t) => {
  const { libDir, classesDir } = await buildConflictingFatJar(path.join(work, 'fat'));
  // greeter 2.0.0 first: the app, built against 1.0.0, calls a method that 2.0.0 does not have.
  const cp = [classesDir, `${libDir}/greeter-2.0.0.jar`, `${libDir}/*`].join(':');
  const nile = new Nile({ config: { project: 'cp', type: 'worker', app: { command: [...JAVA, '-cp', cp, 'com.example.app.App'] } } });
  t.teardown(() => nile.stop());
  await failedStart(nile);
  const { code, findings } = await doctor(nile);
  t.equal(code, 1);
  t.same(findings.slice(0, 2).map((f) => f.cause), ['no-such-method', 'conflicting-versions'], findings.map((f) => f.summary).join(' | '));
  t.match(findings[0]!.summary, /com\.example\.greeter\.Greeter/);
  t.equal(findings[1]!.summary, 'com.example:greeter is on the classpath in 2 versions: 2.0.0, 1.0.0');
  t.match(findings[1]!.evidence, [`${libDir}/greeter-2.0.0.jar (version 2.0.0)`, `${libDir}/greeter-1.0.0.jar (version 1.0.0)`]);
});

t.test('CLASSPATH in app.env is read when the command gives none', async (t) => {
  const { libDir, classesDir } = await buildConflictingFatJar(path.join(work, 'fat'));
  const nile = new Nile({ config: { project: 'cpenv', type: 'worker', app: { command: [...JAVA, 'com.example.app.App'], env: { CLASSPATH: `${classesDir}:${libDir}/greeter-2.0.0.jar:${libDir}/*` } } } });
  t.teardown(() => nile.stop());
  await failedStart(nile);
  t.same((await doctor(nile)).findings.slice(0, 2).map((f) => f.cause), ['no-such-method', 'conflicting-versions']);
});

// The whole pod in a memory cgroup with a low limit: the kernel OOM-kills the JVM, not nile.
const { dir: cgroup, skip: cgroupSkip } = await memoryCgroup('nile-doctor');
t.test('a JVM OOM-killed in a memory cgroup with a low limit', { skip: cgroupSkip }, async (t) => {
  await writeFile(path.join(cgroup, 'memory.limit_in_bytes'), String(256 * 1024 * 1024));
  await writeFile(path.join(cgroup, 'memory.memsw.limit_in_bytes'), String(256 * 1024 * 1024)).catch(() => {});
  const nile = new Nile({ config: { project: 'oomkill', type: 'worker', app: { command: ['java', '-Xms1g', '-Xmx1g', '-XX:+AlwaysPreTouch', '-XX:+UseSerialGC', '-cp', classes, 'Hog'], startTimeout: '60s' }, probe: { interval: '5s' } }, cgroup });
  t.teardown(async () => {
    await nile.stop();
    await removeCgroup(cgroup);
  });
  await failedStart(nile);
  t.match(readFileSync(`/proc/${nile.proc.pid}/cgroup`, 'utf8'), new RegExp(`:memory:.*/${path.basename(cgroup)}\n`), 'the pod runs in the cgroup');
  t.equal(nile.proc.exitCode, null, 'nile survived');
  const result = await doctor(nile);
  t.equal(result.findings[0].cause, 'oom-killed', `the first finding is the OOM kill (got ${JSON.stringify(result.findings)})`);
  t.match(result.findings[0].evidence.join('\n'), /oom_kill/);
});
if (cgroupSkip) await rmdir(cgroup).catch(() => {});
