// diagnose puts the analyses together: order, cross-references, and never a throw.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { headlineFinding } from '../src/agent/scene.js';
import { diagnose } from '../src/doctor/diagnose.js';
import { exitFinding } from '../src/doctor/exit.js';
import { readLogTail } from '../src/doctor/log-files.js';
import { oomKillCount } from '../src/doctor/oom.js';
import { buildConflictingFatJar } from './helpers/jars.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'nile-doctor-diagnose-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const oomBaseline = (await oomKillCount()) ?? 0;

const HEALTHY = [
  '2024-05-02T10:00:01.100Z  INFO 1 --- [main] com.example.DemoApplication : Starting DemoApplication using Java 17.0.15',
  '2024-05-02T10:00:04.300Z  INFO 1 --- [main] o.s.b.w.embedded.tomcat.TomcatWebServer  : Tomcat started on port 8080 (http)',
  '2024-05-02T10:00:04.310Z  INFO 1 --- [main] com.example.DemoApplication : Started DemoApplication in 3.9 seconds',
];

t.test('a healthy app: no findings', async (t) => {
  const log = path.join(dir, 'healthy.log');
  await writeFile(log, HEALTHY.join('\n'));
  t.same(await diagnose({ exitCode: 0, signal: null, outputLines: HEALTHY, logFiles: [log], oomBaseline }), []);
  t.same(await diagnose({ outputLines: [], oomBaseline }), [], 'nothing at all to go on');
});

t.test('a NoSuchMethodError leads, the conflict over its class follows, then the exit status, then the other conflicts', async (t) => {
  const { path: jar } = await buildConflictingFatJar(path.join(dir, 'jar'));
  const findings = await diagnose({
    exitCode: 1,
    outputLines: [
      'Exception in thread "main" java.lang.NoSuchMethodError: \'java.lang.String com.example.shared.Util.name()\'',
      '\tat com.example.app.App.main(App.java:3)',
    ],
    jar,
    oomBaseline,
  });
  t.same(
    findings.map((f) => f.cause),
    ['no-such-method', 'duplicate-class', 'exit-status', 'conflicting-versions'],
  );
  t.ok(findings[1]!.evidence.includes('class com.example.shared.Util'));
});

t.test('the log files are read too, quoted with their path; a missing one is no finding', async (t) => {
  const log = path.join(dir, 'app.log');
  await writeFile(log, `${HEALTHY.join('\n')}\n2024-05-02 ERROR Caused by: org.postgresql.util.PSQLException: Connection to db:5432 refused.\n`);
  const findings = await diagnose({ exitCode: 1, outputLines: ['starting'], logFiles: [path.join(dir, 'never-written.log'), log], oomBaseline });
  t.same(
    findings.map((f) => [f.cause, f.summary]),
    [
      ['db-connection-refused', 'the PostgreSQL database at db:5432 refuses connections'],
      ['exit-status', 'the app exited with status 1'],
    ],
  );
  t.equal(findings[0]!.evidence[0], `${log}: 2024-05-02 ERROR Caused by: org.postgresql.util.PSQLException: Connection to db:5432 refused.`);
});

t.test('a line the app printed and also wrote to its log file is quoted once', async (t) => {
  const line = 'Exception in thread "main" java.net.BindException: Address already in use';
  const log = path.join(dir, 'tee.log');
  await writeFile(log, `${line}\n\tat sun.nio.ch.Net.bind0(Native Method)\n`);
  const findings = await diagnose({ exitCode: 1, outputLines: [line, '\tat sun.nio.ch.Net.bind0(Native Method)'], logFiles: [log], oomBaseline });
  t.equal(findings[0]!.cause, 'port-in-use');
  t.same(findings[0]!.evidence, [line], 'once, as the output has it');
  t.equal(findings[0]!.source, 'output line 1');
});

t.test('an analysis that fails becomes a doctor-error finding, and the others still run', async (t) => {
  const notAFile = path.join(dir, 'a-directory.log');
  await mkdir(notAFile);
  const findings = await diagnose({ exitCode: 137, outputLines: ['java.lang.OutOfMemoryError: Metaspace'], logFiles: [notAFile], oomBaseline });
  t.same(
    findings.map((f) => f.cause),
    ['out-of-memory', 'exit-signal', 'doctor-error'],
  );
  t.match(findings[2]!.summary, new RegExp(`^could not check the log file ${notAFile}: EISDIR`));
});

t.test('how the app ended', async (t) => {
  t.equal(exitFinding(0, null), undefined);
  t.equal(exitFinding(null, null), undefined);
  t.same(exitFinding(2), { cause: 'exit-status', summary: 'the app exited with status 2', evidence: ['exit status 2'] });
  t.match(exitFinding(null, 'SIGKILL')!.summary, /^the app was killed by SIGKILL \(the kernel's OOM killer/);
  t.same(exitFinding(134)!.evidence, ['exit status 134', "134 = 128 + 6: a shell's way of saying its child died of SIGABRT"]);
});

t.test('a long log is read from its end, the cut first line dropped', async (t) => {
  const log = path.join(dir, 'long.log');
  await writeFile(log, `${'x'.repeat(100)}\nsecond\nlast\n`);
  t.same(await readLogTail(log, 20), ['second', 'last', '']);
  t.equal(await readLogTail(path.join(dir, 'absent.log')), undefined);
});

// What an app logged at WARN and survived, as Tomcat logs it, then the JVM was killed.
const WARNED_NO_CLASS_DEF = [
  '30-Nov-2026 02:22:40.296 INFO [main] org.apache.catalina.startup.HostConfig.deployDirectory Deploying web application directory [/app/webapps/ROOT]',
  '30-Nov-2026 02:22:41.051 WARNING [main] org.apache.catalina.startup.ContextConfig.processAnnotations Skipping a plugin that cannot be loaded',
  '\tjava.lang.NoClassDefFoundError: javax/servlet/Servlet',
  '\t\tat java.base/java.lang.ClassLoader.defineClass1(Native Method)',
  'Caused by: java.lang.ClassNotFoundException: javax.servlet.Servlet',
  '\t... 12 more',
  '30-Nov-2026 02:22:41.381 INFO [main] org.apache.catalina.startup.Catalina.start Server startup in [1109] milliseconds',
];

t.test('a line logged at WARN is never the headline: a SIGKILL leads, the warning comes last, saying where it was', async (t) => {
  const findings = await diagnose({ signal: 'SIGKILL', outputLines: WARNED_NO_CLASS_DEF, oomBaseline });
  t.equal(findings[0]!.cause, 'exit-signal', findings.map((f) => f.summary).join(' | '));
  const warned = findings.find((f) => f.cause === 'no-class-def-found');
  t.ok(warned, 'the warning is still a finding');
  t.equal(warned!.level, 'WARNING');
  t.equal(warned!.source, 'output line 3');
  t.equal(findings.at(-1), warned, 'after everything else');
  t.equal(headlineFinding(findings), undefined, 'the probe line adds nothing to the kill');
  const logged = await diagnose({ exitCode: 1, outputLines: ['2024-05-02 10:00:01.100  WARN 1 --- [main] c.e.Cache : no cache: java.net.ConnectException: Connection refused'], oomBaseline });
  t.same(logged.map((f) => [f.cause, f.level]), [['exit-status', undefined], ['connection-refused', 'WARN']], 'a one-line WARN record too');
});

t.test('the exception that ended main leads an error logged before it', async (t) => {
  const findings = await diagnose({
    exitCode: 1,
    outputLines: [
      '2024-05-02 10:00:01.100 ERROR 1 --- [pool-1] c.e.Client : call failed: java.net.UnknownHostException: inventory',
      'Exception in thread "main" java.lang.IllegalStateException: no config',
      '\tat com.example.App.main(App.java:9)',
    ],
    oomBaseline,
  });
  t.same(findings.map((f) => f.cause), ['uncaught-exception', 'unknown-host', 'exit-status']);
  t.equal(findings[0]!.source, 'output line 2');
});

t.test("a start that timed out: the headline says what the probe answered, then where main waits", async (t) => {
  const dump = [
    'Full thread dump OpenJDK 64-Bit Server VM (17.0.15+6 mixed mode):',
    '',
    '"main" #1 prio=5 os_prio=0 cpu=957.02ms elapsed=2.11s tid=0x00007f415c018950 nid=0x5c45 waiting on condition  [0x00007f4164fe6000]',
    '   java.lang.Thread.State: TIMED_WAITING (sleeping)',
    '\tat java.lang.Thread.sleep(java.base@17.0.15/Native Method)',
    '\tat org.apache.catalina.core.StandardServer.await(StandardServer.java:523)',
    '',
    'JNI global refs: 14, weak refs: 0',
  ].join('\n');
  const probes = [1, 2, 3].map((i) => ({ at: `2026-11-30T02:23:0${i}.000Z`, ok: false, detail: `http 404 /healthcheck in ${i}ms` }));
  const findings = await diagnose({ timedOut: true, probes, threadDump: dump, outputLines: ['2024-05-02 10:00:01.100 ERROR [main] c.e.Db : java.net.ConnectException: Connection refused'], oomBaseline });
  t.equal(findings[0]!.cause, 'start-timeout');
  t.equal(findings[0]!.summary, 'the start timed out: the probe got http 404 /healthcheck (at 02:23:03, the last 3 answers alike); main is sleeping in org.apache.catalina.core.StandardServer.await(StandardServer.java:523)');
  t.equal(findings[0]!.evidence[0], 'probe at 2026-11-30T02:23:01.000Z: failing: http 404 /healthcheck in 1ms');
  t.equal(findings[1]!.cause, 'connection-refused');
  const blind = await diagnose({ timedOut: true, outputLines: [], oomBaseline });
  t.equal(blind[0]!.summary, 'the start timed out: the probe never got an answer; no thread dump was taken');
});

t.test('a start that never ran is the headline, in a sentence', async (t) => {
  const findings = await diagnose({ spawnError: 'command "jav" not found on PATH (/usr/bin:/bin)', outputLines: [], oomBaseline });
  t.same(findings.map((f) => [f.cause, f.summary]), [['spawn-error', 'the app could not be started: command "jav" not found on PATH (/usr/bin:/bin)']]);
});
