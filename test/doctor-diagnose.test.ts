// diagnose puts the analyses together: order, cross-references, and never a throw.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
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

t.test('a NoSuchMethodError leads, the conflict over its class follows, the exit status closes', async (t) => {
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
    ['no-such-method', 'duplicate-class', 'conflicting-versions', 'exit-status'],
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
