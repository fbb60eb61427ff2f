import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { FIXTURE_JAR, JAVA, Nile } from './helpers/nile.js';
import { freePort } from './helpers/ports.js';
import { redactorFor } from '../src/redact.js';

// Passwords in javaOpts, args and env reach the JVM and nothing else: no log line, failure report,
// status, doctor or config output shows them. Files nile keeps in runDir are its own to read.

const secrets = {
  javaOpt: 'pw-javaopt-1138',
  arg: 'pw-arg-2187',
  argAfter: 'pw-next-word-3263',
  env: 'pw-env-4217',
  url: 'pw-url-5150',
  pattern: 'pw-pattern-6174',
};

t.test('a failed start shows no secret anywhere, while the JVM has them all', async (t) => {
  const port = await freePort();
  const nile = new Nile({
    config: {
      project: 'secrets',
      app: {
        jar: FIXTURE_JAR,
        javaOpts: [...JAVA.slice(1), `-Dspring.datasource.password=${secrets.javaOpt}`],
        // Exits before it is ever ready: a startup failure, with its report kept.
        args: ['--exit-after', '2500', `--db.password=${secrets.arg}`, '--api-token', secrets.argAfter],
        env: { SPRING_DATASOURCE_PWD: secrets.env, JDBC_URL: `jdbc:mysql://shop:${secrets.url}@127.0.0.1:3306/shop`, MYCORP_LICENSE: secrets.pattern },
        secretPatterns: ['^mycorp_'],
      },
      probe: { http: { port }, interval: '200ms' },
    },
  });
  t.teardown(() => nile.stop());

  await nile.waitLog((l) => l.msg === 'app started', 'app started', 30_000);
  const appPid = await nile.waitFor('the JVM', () => nile.appHostPid(), 10_000);
  const cmdline = readFileSync(`/proc/${appPid}/cmdline`, 'utf8');
  const environ = readFileSync(`/proc/${appPid}/environ`, 'utf8');
  for (const s of [secrets.javaOpt, secrets.arg, secrets.argAfter]) t.ok(cmdline.includes(s), `the JVM's command line has ${s}`);
  for (const s of [secrets.env, secrets.url, secrets.pattern]) t.ok(environ.includes(s), `the JVM's environment has ${s}`);

  await nile.waitPhase('failed', 30_000);
  await nile.waitFor('the report with findings', () => {
    try {
      return JSON.parse(readFileSync(path.join(nile.runDir, 'last-failure.json'), 'utf8')).findings;
    } catch {
      return undefined;
    }
  }, 15_000);

  const outputs: Record<string, string> = {
    logs: JSON.stringify(nile.logs) + nile.stderrText.join('\n'),
    report: readFileSync(path.join(nile.runDir, 'last-failure.json'), 'utf8'),
    'status --json': (await nile.exec(['status', '--json'])).stdout,
    status: (await nile.exec(['status'])).stdout,
    'doctor --json': (await nile.exec(['doctor', '--json'])).stdout,
    config: (await nile.exec(['config', '--config', nile.configFile])).stdout,
  };
  t.match(outputs['status --json'], /startup failed/, 'status has the failure');
  t.match(outputs.report, /-Dspring\.datasource\.password=\*\*\*/, 'the report keeps the option, blanked');
  t.match(outputs.config, /SPRING_DATASOURCE_PWD: "?\*\*\*/, 'config keeps the name, blanked');
  t.match(outputs.config, /JDBC_URL: jdbc:mysql:\/\/shop:\*\*\*@127\.0\.0\.1/, 'config keeps the URL, userinfo blanked');
  for (const [where, text] of Object.entries(outputs)) {
    t.ok(text.length > 0, `${where} said something`);
    for (const [what, s] of Object.entries(secrets)) t.notOk(text.includes(s), `${where} does not show the ${what} secret`);
  }

  t.equal(statSync(nile.runDir).mode & 0o777, 0o700, 'runDir is 0700');
  for (const name of readdirSync(nile.runDir)) {
    const st = statSync(path.join(nile.runDir, name));
    if (st.isFile()) t.equal(st.mode & 0o777, 0o600, `${name} is 0600`);
  }
});

t.test('the redaction: options, URLs, JDBC forms, env names, patterns, known values', async (t) => {
  const r = redactorFor({ app: { command: [], javaOpts: ['-Dlicense.code=lic-9090'], args: [], env: { DB_PWD: 'pwd-7070' }, secretPatterns: ['^license\\.'] } as never });
  t.same(r.args(['java', '-Dspring.datasource.password=a1', '--token=b2', '--password', 'c3', '--port', '8080', '-Dlicense.code=lic-9090']), [
    'java',
    '-Dspring.datasource.password=***',
    '--token=***',
    '--password',
    '***',
    '--port',
    '8080',
    '-Dlicense.code=***',
  ]);
  t.equal(r.text('jdbc:mysql://shop:s3cr3t@db:3306/shop'), 'jdbc:mysql://shop:***@db:3306/shop');
  t.equal(r.text('jdbc:oracle:thin:scott/tiger@db:1521/orcl'), 'jdbc:oracle:thin:scott/***@db:1521/orcl');
  t.equal(r.text('jdbc:sqlserver://db:1433;user=sa;password=Passw0rd;encrypt=true'), 'jdbc:sqlserver://db:1433;user=sa;password=***;encrypt=true');
  t.equal(r.text('https://api/x?access_token=abc&page=2'), 'https://api/x?access_token=***&page=2');
  t.equal(r.text('exec java -Dapi.secret=zz -Xmx1g'), 'exec java -Dapi.secret=*** -Xmx1g', 'options inside a line');
  t.equal(r.text('connecting with pwd-7070 and lic-9090'), 'connecting with *** and ***', "the config's secret values wherever they turn up");
  t.same(r.env({ DB_PWD: 'x', API_KEY: 'y', JDBC_URL: 'postgres://u:p@h/db', REGION: 'eu' }), { DB_PWD: '***', API_KEY: '***', JDBC_URL: 'postgres://u:***@h/db', REGION: 'eu' });
  t.same(r.value({ a: ['--password', 'q'], b: { c: 'http://u:v@h' }, n: 3 }), { a: ['--password', '***'], b: { c: 'http://u:***@h' }, n: 3 });
});
