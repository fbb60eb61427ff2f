import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { FIXTURE_JAR, JAVA, Nile } from './helpers/nile.js';
import { freePort } from './helpers/ports.js';
import { redactLines, redactorFor } from '../src/redact.js';
import { loadConfig } from '../src/config/load.js';
import { printConfig } from '../src/config/print.js';

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
    door: 'node',
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

t.test('nile config: option values with a space, query-string keys, a DSN token, Cookie and Authorization headers', async (t) => {
  const file = `${t.testdir({ 'nile.yaml': JSON.stringify({
    project: 'p',
    app: {
      command: ['java', '-Ddb.password=my secret-3301', '-jar', 'app.jar'],
      env: {
        SENTRY_DSN: 'https://dsn-3302@o1.ingest.example/1',
        MAPS_URL: 'https://maps.example/api?api_key=key-3303&zoom=2',
        FEED_URL: 'https://feed.example/rss?key=key-3304',
      },
    },
    online: [{ name: 'gw', url: 'http://gw/online?token=tok-3305', headers: { Cookie: 'SESSION=cookie-3306', Authorization: 'Bearer auth-3307' } }],
  }) })}/nile.yaml`;
  const loaded = loadConfig({ file, env: {} });
  t.ok(loaded.ok, loaded.ok ? 'valid' : loaded.errors.join('; '));
  if (!loaded.ok) return;
  const printed = printConfig(loaded.config);
  for (const s of ['secret-3301', 'dsn-3302', 'key-3303', 'key-3304', 'tok-3305', 'cookie-3306', 'auth-3307']) t.notOk(printed.includes(s), `nile config does not show ${s}`);
  t.match(printed, '-Ddb.password=***', 'the option stays, its value blanked whole');
  t.match(printed, 'https://***@o1.ingest.example/1', "the DSN's host stays");
  t.match(printed, 'zoom=2', 'other query parameters stay');
});

t.test('in text: header values, DSN tokens, query keys, and a value with a space the config knows', async (t) => {
  const r = redactorFor({ app: { command: [], javaOpts: ['-Ddb.password=my secret-3401'], args: [], env: {}, secretPatterns: [] } as never });
  t.equal(r.text('exec java -Ddb.password=my secret-3401 -Xmx1g'), 'exec java -Ddb.password=*** -Xmx1g');
  t.equal(r.text('> Cookie: SESSION=c-3402; theme=dark'), '> Cookie: ***');
  t.equal(r.text('Authorization: Bearer a-3403'), 'Authorization: ***');
  t.equal(r.text('{"headers":{"authorization":"Basic b-3404","accept":"*/*"}}'), '{"headers":{"authorization":"***","accept":"*/*"}}');
  t.equal(r.text('sentry: https://d-3405@o1.ingest.example/1 ready'), 'sentry: https://***@o1.ingest.example/1 ready');
  t.equal(r.text('GET /v1/geo?api_key=k-3406&q=x'), 'GET /v1/geo?api_key=***&q=x');
});

t.test('a short secret is blanked where it stands as a secret\'s value, not wherever its letters turn up', async (t) => {
  const r = redactorFor({ app: { command: [], javaOpts: ['-Dtrust.password=java'], args: [], env: { DB_PASSWORD: 'java' }, secretPatterns: [] } as never });
  t.equal(r.text('Exception in thread "main" java.lang.IllegalStateException at java.base'), 'Exception in thread "main" java.lang.IllegalStateException at java.base', 'the word java stays: blanking it would tell the password');
  t.same(r.args(['java', '-Dtrust.password=java', '-jar', 'app.jar']), ['java', '-Dtrust.password=***', '-jar', 'app.jar']);
  t.equal(r.text('DB_PASSWORD=java'), 'DB_PASSWORD=***');
  t.equal(r.text('login with password: java'), 'login with password: ***');
  t.equal(r.text('{"db.password":"java"}'), '{"db.password":"***"}');
  const long = redactorFor({ app: { command: [], javaOpts: [], args: [], env: { DB_PASSWORD: 'tr0ub4dor-3501' }, secretPatterns: [] } as never });
  t.equal(long.text('connect as app/tr0ub4dor-3501 failed'), 'connect as app/*** failed', 'a long one is blanked anywhere');
});

t.test('text redacted as a stream: a secret split across chunks, a line cut at its bound', async (t) => {
  const r = redactorFor({ app: { command: [], javaOpts: ['-Ddb.password=stream-secret-3601'], args: [], env: {}, secretPatterns: [] } as never });
  const long = `${'x'.repeat(5000)} -Ddb.password=stream-secret-3601 tail`;
  const text = `"worker stream-secret-3601" #12 prio=5\n${long}\nlast -Dapi.token=t1 ü`;
  for (const size of [1, 7, 4096]) {
    const lines = redactLines(r, 1000);
    let out = '';
    const bytes = Buffer.from(text);
    for (let at = 0; at < bytes.length; at += size) out += lines.write(bytes.subarray(at, at + size));
    out += lines.end();
    t.notOk(out.includes('stream-secret'), `chunks of ${size} bytes: no secret`);
    t.equal(out.split('\n')[0], '"worker ***" #12 prio=5', `chunks of ${size} bytes: the first line whole, blanked`);
    t.equal(out.split('\n')[1], `${'x'.repeat(1000)} … [${long.length - 1000} more characters not kept]`, `chunks of ${size} bytes: the long line cut at its bound`);
    t.equal(out.split('\n')[2], 'last -Dapi.token=*** ü', `chunks of ${size} bytes: the last line without its newline, a character split across chunks whole`);
  }
});
