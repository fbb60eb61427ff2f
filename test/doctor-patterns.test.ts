import t from 'tap';
import { scanForPatterns } from '../src/doctor/patterns.js';
import { PATTERNS, type Pattern } from '../src/doctor/patterns/table.js';
import { javaForClassFile } from '../src/doctor/patterns/java-version.js';

// Output as Spring Boot 3 / Tomcat 10 print it when port 8080 is taken.
const SPRING_PORT_IN_USE = `
2024-05-02T10:00:01.100Z  INFO 1 --- [main] com.example.DemoApplication : Starting DemoApplication using Java 17.0.15
2024-05-02T10:00:03.200Z  INFO 1 --- [main] o.s.b.w.embedded.tomcat.TomcatWebServer  : Tomcat initialized with port 8080 (http)
2024-05-02T10:00:04.300Z ERROR 1 --- [main] o.apache.catalina.core.StandardService   : Failed to start connector [Connector[HTTP/1.1-8080]]

org.apache.catalina.LifecycleException: Protocol handler start failed
	at org.apache.catalina.connector.Connector.startInternal(Connector.java:1048) ~[tomcat-embed-core-10.1.8.jar!/:na]
Caused by: java.net.BindException: Address already in use
	at java.base/sun.nio.ch.Net.bind0(Native Method) ~[na:na]
	... 28 common frames omitted

2024-05-02T10:00:04.400Z  INFO 1 --- [main] .s.b.a.l.ConditionEvaluationReportLogger :
2024-05-02T10:00:04.500Z ERROR 1 --- [main] o.s.b.d.LoggingFailureAnalysisReporter   :

***************************
APPLICATION FAILED TO START
***************************

Description:

Web server failed to start. Port 8080 was already in use.

Action:

Identify and stop the process that's listening on port 8080 or configure this application to listen on another port.

`.split('\n');

const HEALTHY = `
  .   ____          _            __ _ _
 /\\\\ / ___'_ __ _ _(_)_ __  __ _ \\ \\ \\ \\
2024-05-02T10:00:01.100Z  INFO 1 --- [main] com.example.DemoApplication : Starting DemoApplication using Java 17.0.15
2024-05-02T10:00:03.200Z  INFO 1 --- [main] o.s.b.w.embedded.tomcat.TomcatWebServer  : Tomcat initialized with port 8080 (http)
2024-05-02T10:00:03.900Z  INFO 1 --- [main] com.zaxxer.hikari.HikariDataSource       : HikariPool-1 - Start completed.
2024-05-02T10:00:04.300Z  INFO 1 --- [main] o.s.b.w.embedded.tomcat.TomcatWebServer  : Tomcat started on port 8080 (http) with context path ''
2024-05-02T10:00:04.310Z  INFO 1 --- [main] com.example.DemoApplication : Started DemoApplication in 3.9 seconds (process running for 4.4)
`.split('\n');

t.test('Spring Boot and Tomcat on a taken port: one port-in-use finding, then Spring failure analysis', async (t) => {
  const { findings } = scanForPatterns([{ lines: SPRING_PORT_IN_USE }]);
  t.same(
    findings.map((f) => f.cause),
    ['port-in-use', 'spring-startup-failed'],
  );
  const [port, spring] = findings;
  t.equal(port!.summary, 'port 8080 is already in use');
  t.ok(port!.evidence.includes('Caused by: java.net.BindException: Address already in use'), 'quotes the BindException');
  t.ok(port!.evidence.includes('Web server failed to start. Port 8080 was already in use.'), "quotes Spring's line");
  t.equal(spring!.summary, 'Spring Boot could not start: Web server failed to start. Port 8080 was already in use.');
  t.same(spring!.evidence.slice(1), [
    'Description:',
    'Web server failed to start. Port 8080 was already in use.',
    'Action:',
    "Identify and stop the process that's listening on port 8080 or configure this application to listen on another port.",
  ]);
});

t.test('a healthy start has no findings', async (t) => {
  t.same(scanForPatterns([{ lines: HEALTHY }]).findings, []);
});

t.test('each kind of OutOfMemoryError is named, and the heap dump path joins the heap finding', async (t) => {
  const { findings } = scanForPatterns([
    {
      lines: [
        'java.lang.OutOfMemoryError: Java heap space',
        'Dumping heap to /var/dumps/java_pid7.hprof ...',
        'Heap dump file created [16403498 bytes in 0.052 secs]',
        'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space',
        'Caused by: java.lang.OutOfMemoryError: Metaspace',
        'Exception in thread "reactor-http-epoll-2" java.lang.OutOfMemoryError: Cannot reserve 1048576 bytes of direct buffer memory (allocated: 10485760, limit: 10485760)',
        '[1.5s][warning][os,thread] Failed to start thread - pthread_create failed (EAGAIN)',
        'java.lang.OutOfMemoryError: unable to create native thread: possibly out of memory or process/resource limits reached',
      ],
    },
  ]);
  t.same(
    findings.map((f) => f.cause),
    ['out-of-memory', 'out-of-memory', 'out-of-memory', 'out-of-memory'],
  );
  t.equal(findings[0]!.summary, 'the JVM ran out of heap: raise -Xmx or look for a leak (java.lang.OutOfMemoryError: Java heap space)');
  t.ok(findings[0]!.evidence.includes('heap dump: /var/dumps/java_pid7.hprof'));
  t.ok(findings[0]!.evidence.includes('Heap dump file created [16403498 bytes in 0.052 secs]'));
  t.match(findings[1]!.summary, /Metaspace/);
  t.match(findings[2]!.summary, /direct buffer memory/);
  t.match(findings[3]!.summary, /could not create a thread/);
});

t.test('a heap dump without an OutOfMemoryError line stands alone', async (t) => {
  const { findings } = scanForPatterns([{ lines: ['Dumping heap to /tmp/java_pid9.hprof ...'] }]);
  t.same(findings, [{ cause: 'heap-dump', summary: 'a heap dump was written to /tmp/java_pid9.hprof', evidence: ['Dumping heap to /tmp/java_pid9.hprof ...', 'heap dump: /tmp/java_pid9.hprof'], source: 'output line 1' }]);
});

t.test('class file versions become Java versions', async (t) => {
  t.equal(javaForClassFile(65), 'Java 21');
  t.equal(javaForClassFile(52), 'Java 8');
  t.equal(javaForClassFile(61), 'Java 17');
  t.equal(javaForClassFile(48), 'Java 1.4');
  const { findings } = scanForPatterns([
    {
      lines: [
        'Error: LinkageError occurred while loading main class com.example.App',
        '\tjava.lang.UnsupportedClassVersionError: com/example/App has been compiled by a more recent version of the Java Runtime (class file version 65.0), this version of the Java Runtime only recognizes class file versions up to 61.0',
      ],
    },
    { name: 'old.log', lines: ['Exception in thread "main" java.lang.UnsupportedClassVersionError: Legacy : Unsupported major.minor version 52.0'] },
  ]);
  t.same(
    findings.map((f) => f.summary),
    [
      'com.example.App was compiled for Java 21 (class file version 65) but this JVM runs Java 17',
      'Legacy was compiled for Java 8 (class file version 52) but this JVM is older',
    ],
  );
  t.same(findings[1]!.evidence, ['old.log: Exception in thread "main" java.lang.UnsupportedClassVersionError: Legacy : Unsupported major.minor version 52.0']);
});

t.test('NoClassDefFoundError and its ClassNotFoundException of the same class are one finding', async (t) => {
  const scan = scanForPatterns([
    {
      lines: [
        'Exception in thread "main" java.lang.NoClassDefFoundError: com/example/Helper',
        '\tat com.example.App.main(App.java:5)',
        'Caused by: java.lang.ClassNotFoundException: com.example.Helper',
        '\t... 1 more',
        'Caused by: java.lang.ClassNotFoundException: org.other.Thing',
      ],
    },
  ]);
  t.same(
    scan.findings.map((f) => [f.cause, f.summary]),
    [
      ['no-class-def-found', 'class com.example.Helper was there when the code was compiled but is missing at run time'],
      ['class-not-found', 'class org.other.Thing is not on the classpath'],
    ],
  );
  t.equal(scan.findings[0]!.evidence.length, 2, 'both lines quoted');
  t.same(scan.classes, ['com.example.Helper', 'org.other.Thing']);
});

t.test('NoSuchMethodError names the method and hands its class to the classpath check', async (t) => {
  const scan = scanForPatterns([
    {
      lines: [
        'Exception in thread "main" java.lang.NoSuchMethodError: \'java.lang.String com.example.greeter.Greeter.hello(java.lang.String)\'',
        '\tat com.example.app.App.main(App.java:3)',
        'java.lang.NoSuchMethodError: com.google.common.base.Strings.lenientFormat(Ljava/lang/String;[Ljava/lang/Object;)Ljava/lang/String;',
      ],
    },
  ]);
  t.same(
    scan.findings.map((f) => f.cause),
    ['no-such-method', 'no-such-method'],
  );
  t.match(scan.findings[0]!.summary, /^method java\.lang\.String com\.example\.greeter\.Greeter\.hello\(java\.lang\.String\) does not exist at run time: com\.example\.greeter\.Greeter comes from another version/);
  t.same(scan.classes, ['com.example.greeter.Greeter', 'com.google.common.base.Strings']);
});

t.test('refused database connections: the driver names the database, the ConnectException joins it', async (t) => {
  const mysql = scanForPatterns([
    {
      lines: [
        'com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure',
        '',
        'The last packet sent successfully to the server was 0 milliseconds ago. The driver has not received any packets from the server.',
        'Caused by: java.net.ConnectException: Connection refused',
      ],
    },
  ]);
  t.same(
    mysql.findings.map((f) => [f.cause, f.summary, f.evidence.length]),
    [['db-connection-refused', 'the MySQL database cannot be reached (Communications link failure)', 2]],
  );
  const postgres = scanForPatterns([
    {
      lines: [
        'org.postgresql.util.PSQLException: Connection to localhost:5432 refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections.',
        'Caused by: java.net.ConnectException: Connection refused',
      ],
    },
  ]);
  t.same(
    postgres.findings.map((f) => f.summary),
    ['the PostgreSQL database at localhost:5432 refuses connections'],
  );
  const plain = scanForPatterns([{ lines: ['Caused by: java.net.ConnectException: Connection refused'] }]);
  t.same(
    plain.findings.map((f) => f.cause),
    ['connection-refused'],
  );
});

t.test('order: decisive causes first, then specific ones, then general ones, each by first appearance', async (t) => {
  const { findings } = scanForPatterns([
    {
      lines: [
        'java.net.ConnectException: Connection refused',
        'java.lang.ClassNotFoundException: com.example.Late',
        'Error: Could not find or load main class com.example.Main',
        'java.lang.OutOfMemoryError: Java heap space',
      ],
    },
  ]);
  t.same(
    findings.map((f) => f.cause),
    ['main-class-not-found', 'class-not-found', 'out-of-memory', 'connection-refused'],
  );
});

t.test('an uncaught exception with no known cause is reported with its root cause, and only then', async (t) => {
  const crash = [
    'Exception in thread "main" java.lang.IllegalStateException: Failed to load ApplicationContext',
    '\tat com.example.App.main(App.java:10)',
    'Caused by: java.lang.IllegalArgumentException: bad config',
    '\tat com.example.Config.load(Config.java:3)',
    'Caused by: java.io.FileNotFoundException: /etc/app/app.yaml (No such file or directory)',
    '\t... 2 more',
  ];
  const alone = scanForPatterns([{ lines: crash }]).findings;
  t.same(
    alone.map((f) => [f.cause, f.summary]),
    [['uncaught-exception', 'thread "main" died: java.io.FileNotFoundException: /etc/app/app.yaml (No such file or directory)']],
  );
  t.same(alone[0]!.evidence.slice(1), ['Caused by: java.lang.IllegalArgumentException: bad config', 'Caused by: java.io.FileNotFoundException: /etc/app/app.yaml (No such file or directory)']);
  const withKnown = scanForPatterns([{ lines: [...crash, 'java.lang.ClassNotFoundException: com.example.X'] }]).findings;
  t.same(
    withKnown.map((f) => f.cause),
    ['class-not-found'],
  );
});

t.test('a JVM crash banner names the signal and the error report', async (t) => {
  const { findings } = scanForPatterns([
    {
      lines: [
        '#',
        '# A fatal error has been detected by the Java Runtime Environment:',
        '#',
        '#  SIGSEGV (0xb) at pc=0x00007f3e5c8a1b2c, pid=1, tid=12',
        '#',
        '# JRE version: OpenJDK Runtime Environment (17.0.15+6) (build 17.0.15+6-Debian-1deb12u1)',
        '# Problematic frame:',
        '# C  [libnative.so+0x1b2c]  crash_here+0x1c',
        '#',
        '# An error report file with more information is saved as:',
        '# /app/hs_err_pid1.log',
        '#',
      ],
    },
  ]);
  t.equal(findings.length, 1);
  t.equal(findings[0]!.cause, 'jvm-crash');
  t.equal(findings[0]!.summary, 'the JVM crashed (SIGSEGV (0xb) at pc=0x00007f3e5c8a1b2c, pid=1, tid=12)');
  t.ok(findings[0]!.evidence.includes('error report: /app/hs_err_pid1.log'));
  t.ok(findings[0]!.evidence.includes('Problematic frame: C  [libnative.so+0x1b2c]  crash_here+0x1c'));
});

t.test('the same line in the output and a log file is quoted once, as the output has it; the count tells them all', async (t) => {
  const retry = '2024-05-02 10:00:00 WARN HikariPool-1 - Connection is not available: java.net.ConnectException: Connection refused';
  const { findings } = scanForPatterns([{ lines: Array(10).fill(retry) }, { name: '/var/log/app.log', lines: [retry] }]);
  t.equal(findings.length, 1);
  t.same(findings[0]!.evidence, [retry, '11 matching lines in all']);
  const fileOnly = scanForPatterns([{ lines: ['starting'] }, { name: '/var/log/app.log', lines: [retry] }]);
  t.same(fileOnly.findings[0]!.evidence, [`/var/log/app.log: ${retry}`], 'a line only the file has is quoted with the file');
});

t.test('the table is open: a new row is all a new pattern needs', async (t) => {
  const row: Pattern = { cause: 'disk-full', family: 'disk', tier: 1, match: /No space left on device/, summary: () => 'the disk is full' };
  const { findings } = scanForPatterns([{ lines: ['java.io.IOException: No space left on device'] }], [...PATTERNS, row]);
  t.same(findings, [{ cause: 'disk-full', summary: 'the disk is full', evidence: ['java.io.IOException: No space left on device'], source: 'output line 1' }]);
});
