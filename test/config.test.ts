import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { formatDuration, parseDuration } from '../src/config/duration.js';
import { loadConfig, type LoadResult } from '../src/config/load.js';
import { printConfig } from '../src/config/print.js';
import type { Config } from '../src/config/schema.js';
import { ROOT } from './helpers/paths.js';
import { yamlFiles } from './helpers/yaml-files.js';

const { dir, yamlFile } = yamlFiles(t, 'nile-config-');

function loaded(result: LoadResult): Config {
  if (!result.ok) throw new Error(`config rejected: ${result.errors.join('; ')}`);
  return result.config;
}

function errorsOf(result: LoadResult): string[] {
  if (result.ok) throw new Error('config accepted, expected errors');
  return result.errors;
}

const load = (yaml: string, env: NodeJS.ProcessEnv = {}, command?: string[]) => loadConfig({ file: yamlFile(yaml), env, command });

/** The bad file holds one error of each kind, and no project. */
const badYaml = `type: web
app:
  comand: [java, -jar, /app/app.jar]
  startTimeout: 5 minutes
probe:
  http:
    port: eighty
  interval: 2
`;
const badPaths = ['app.comand', 'probe.http.port', 'app.startTimeout', 'probe.interval', 'project'];

t.test('every error of a bad file is reported at once, each with its path', async (t) => {
  const errors = errorsOf(load(badYaml));
  t.ok(errors.includes('app.comand: unknown key'), 'unknown key named');
  for (const p of badPaths) t.ok(errors.some((e) => e.startsWith(`${p}: `)), `an error names ${p}`);
  t.match(errors.find((e) => e.startsWith('probe.http.port:')), /eighty/, 'the bad value is shown');
  t.match(errors.find((e) => e.startsWith('app.startTimeout:')), /5 minutes/);
  t.equal(errors.length, badPaths.length, 'one error per bad field');
});

function nileCli(args: string[]) {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('NILE_') && !k.startsWith('TAP') && k !== 'NODE_OPTIONS') env[k] = v;
  return spawnSync(process.execPath, [path.join(ROOT, 'bin', 'nile.js'), ...args], { env, encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
}

t.test('the CLI rejects the bad file with status 2 and every path', async (t) => {
  const file = yamlFile(badYaml);
  for (const verb of ['config', 'run']) {
    const result = nileCli([verb, '--config', file]);
    t.equal(result.signal, null, `${verb}: ended by itself, not by the test's timeout`);
    t.equal(result.status, 2, `nile ${verb} exits 2`);
    for (const p of badPaths) t.match(result.stderr, `${p}: `, `nile ${verb} names ${p}`);
    t.equal(result.stdout, '', `nile ${verb} prints no config`);
  }
});

t.test('nile config refuses what would only fail at the start: a probe path without its leading /, ports out of range', async (t) => {
  const file = yamlFile('project: checks\nprobe:\n  http: {port: 70000, path: healthcheck}\n  tcp: {port: 0}\nregistry: {port: 65536}\nsshd: {port: -1}\n');
  const result = nileCli(['config', '--config', file]);
  t.equal(result.status, 2);
  t.match(result.stderr, 'probe.http.path: must be a path starting with /, got "healthcheck"');
  for (const [key, value] of [['probe.http.port', 70000], ['probe.tcp.port', 0], ['registry.port', 65536], ['sshd.port', -1]] as const) {
    t.match(result.stderr, `${key}: must be between 1 and 65535, got ${value}`);
  }
  t.match(errorsOf(load('project: checks\n', { NILE_PROBE_HTTP_PATH: 'health check' })), ['probe.http.path: must be a path starting with /, got "health check"'], 'from the environment too');
  t.equal(loaded(load('project: checks\nprobe: {http: {path: /actuator/health?probe=1}}\n')).probe.http.path, '/actuator/health?probe=1');
});

t.test('the CLI prints a valid config and exits 0', async (t) => {
  const result = nileCli(['config', '--config', yamlFile('project: cli-demo\napp: {startTimeout: 90s}\n')]);
  t.equal(result.status, 0, result.stderr);
  t.match(parse(result.stdout), { project: 'cli-demo', app: { startTimeout: '90s' } });
});

t.test('a file that is not a YAML mapping is a clear error', async (t) => {
  const syntax = errorsOf(load('project: demo\napp: {command: [java\n'));
  t.ok(syntax.length >= 1);
  t.ok(syntax.every((e) => e.includes('nile-')), 'syntax errors name the file');
  t.notOk(syntax.some((e) => e.startsWith('app.')), 'no field errors from a half-read file');

  const list = errorsOf(load('- project: demo\n- type: web\n'));
  t.ok(list.some((e) => /top level must be a mapping/.test(e)), list.join('; '));
  const scalar = errorsOf(load('just a string\n'));
  t.ok(scalar.some((e) => /top level must be a mapping/.test(e)), scalar.join('; '));

  const duplicate = errorsOf(load('project: a\nproject: b\n'));
  t.ok(duplicate.some((e) => /unique|duplicate/i.test(e)), duplicate.join('; '));
});

t.test('an unreadable file is a clear error naming it', async (t) => {
  const missing = path.join(dir, 'absent.yaml');
  const errors = errorsOf(loadConfig({ file: missing, env: { NILE_PROJECT: 'demo' } }));
  t.ok(errors.some((e) => e.includes(missing) && /cannot read.*ENOENT/.test(e)), errors.join('; '));
  const aDir = path.join(dir, 'a-directory');
  mkdirSync(aDir);
  const dirErrors = errorsOf(loadConfig({ file: aDir, env: { NILE_PROJECT: 'demo' } }));
  t.ok(dirErrors.some((e) => e.includes(aDir) && /cannot read/.test(e)), dirErrors.join('; '));
});

t.test('NILE_* environment variables set every kind of key', async (t) => {
  const config = loaded(
    loadConfig({
      file: yamlFile('project: demo\n'),
      env: {
        NILE_REGISTRY_ZOOKEEPER_CONNECT: 'zk1:2181,zk2:2181',
        NILE_APP_STARTTIMEOUT: '90s',
        NILE_PROBE_HTTP_PORT: '8081',
        NILE_PROBE_HTTP_ENABLED: 'false',
        NILE_SSHD_ENABLED: 'yes',
        NILE_APP_JAVAOPTS: '["-Xmx1g","-Dx=y z"]',
        NILE_APP_ARGS: '--spring.profiles.active=prod   --debug',
        NILE_APP_ENV_FOO: 'bar',
        NILE_APP_ENV_Mixed_Case: 'kept',
      },
    }),
  );
  t.equal(config.registry.zookeeper.connect, 'zk1:2181,zk2:2181');
  t.equal(config.app.startTimeout, 90_000);
  t.equal(config.probe.http.port, 8081, 'ints from strings');
  t.equal(config.probe.http.enabled, false, 'bools from strings');
  t.equal(config.sshd.enabled, true);
  t.same(config.app.javaOpts, ['-Xmx1g', '-Dx=y z'], 'JSON list keeps spaces inside an item');
  t.same(config.app.args, ['--spring.profiles.active=prod', '--debug'], 'whitespace-separated list');
  t.same(config.app.env, { FOO: 'bar', Mixed_Case: 'kept' }, 'map entries by name');
});

t.test('camelCase keys also answer to the name with an underscore per word', async (t) => {
  const config = loaded(loadConfig({ env: { NILE_PROJECT: 'demo', NILE_APP_START_TIMEOUT: '2m', NILE_APP_JAVA_OPTS: '-Xmx512m', NILE_REGISTRY_MAX_FAILS: '5' } }));
  t.equal(config.app.startTimeout, 120_000);
  t.same(config.app.javaOpts, ['-Xmx512m']);
  t.equal(config.registry.maxFails, 5);
});

t.test('bad environment values are errors naming the key or variable', async (t) => {
  const errors = errorsOf(loadConfig({ env: { NILE_PROJECT: 'demo', NILE_BOGUS: '1', NILE_PROBE_HTTP_PORT: 'eighty', NILE_SSHD_ENABLED: 'maybe', NILE_APP_STARTTIMEOUT: '90' } }));
  t.ok(errors.some((e) => e.startsWith('NILE_BOGUS: ')), 'unknown variable named');
  t.ok(errors.some((e) => e.startsWith('probe.http.port: ')));
  t.ok(errors.some((e) => e.startsWith('sshd.enabled: ')));
  t.ok(errors.some((e) => e.startsWith('app.startTimeout: ')));
  t.equal(errors.length, 4, errors.join('; '));
});

t.test('errors do not repeat secrets', async (t) => {
  const errors = errorsOf(load('project: demo\napp: {env: {DB_PASSWORD: hunter2, NESTED: {a: 1}}}\nregistry: {consul: {url: "consul://nile:consul-pass@127.0.0.1:8500"}}\n'));
  t.ok(errors.some((e) => e.startsWith('app.env')), errors.join('; '));
  t.ok(errors.some((e) => e.startsWith('registry.consul.url: ')), errors.join('; '));
  for (const secret of ['hunter2', 'consul-pass']) t.notMatch(errors.join('\n'), secret, `${secret} is not in an error`);
});

t.test('NILE_CONFIG picks the file, --config wins over it, and env overrides the file', async (t) => {
  const fromEnv = yamlFile('project: from-nile-config\nregistry: {weight: 3}\n');
  const fromFlag = yamlFile('project: from-flag\n');
  const viaEnv = loadConfig({ env: { NILE_CONFIG: fromEnv } });
  t.equal(viaEnv.file, fromEnv);
  t.equal(loaded(viaEnv).project, 'from-nile-config');
  t.equal(loaded(loadConfig({ file: fromFlag, env: { NILE_CONFIG: fromEnv } })).project, 'from-flag');
  const overridden = loaded(loadConfig({ env: { NILE_CONFIG: fromEnv, NILE_PROJECT: 'from-env', NILE_REGISTRY_WEIGHT: '7' } }));
  t.equal(overridden.project, 'from-env');
  t.equal(overridden.registry.weight, 7);
});

t.test('POD_IP is the registry address unless one is configured', async (t) => {
  t.equal(loaded(load('project: demo\n', { POD_IP: '10.1.2.3' })).registry.address, '10.1.2.3');
  t.equal(loaded(load('project: demo\nregistry: {address: 10.9.9.9}\n', { POD_IP: '10.1.2.3' })).registry.address, '10.9.9.9');
  t.equal(loaded(load('project: demo\n', { POD_IP: '10.1.2.3', NILE_REGISTRY_ADDRESS: '10.7.7.7' })).registry.address, '10.7.7.7');
  t.match(loaded(load('project: demo\n')).registry.address, /^\d+\.\d+\.\d+\.\d+$/, 'some IPv4 without POD_IP');
});

t.test('defaults follow the project type', async (t) => {
  const web = loaded(load('project: shop\n'));
  t.equal(web.type, 'web', 'web is the default type');
  t.match(web.probe, { http: { enabled: true, port: 8080, path: '/healthcheck' }, tcp: { enabled: false } });
  t.equal(web.registry.port, 8080);
  t.equal(web.registry.upstream, 'shop', 'upstream defaults to the project');

  const rpc = loaded(load('project: orders\ntype: rpc\nprobe: {tcp: {port: 20880}}\n'));
  t.match(rpc.probe, { http: { enabled: true }, tcp: { enabled: true, port: 20880 } });
  t.equal(rpc.registry.port, 20880, 'rpc registers its rpc port');

  const worker = loaded(load('project: jobs\ntype: worker\n'));
  t.match(worker.probe, { http: { enabled: false }, tcp: { enabled: false } });

  const explicit = loaded(load('project: shop\nprobe: {tcp: {enabled: true}}\nregistry: {port: 81, upstream: shop-v2}\n'));
  t.equal(explicit.probe.tcp.enabled, true, 'an explicit probe switch wins over the type');
  t.equal(explicit.registry.port, 81);
  t.equal(explicit.registry.upstream, 'shop-v2');
});

t.test('durations become milliseconds', async (t) => {
  const config = loaded(load('project: demo\napp: {startTimeout: 1m30s, stopTimeout: 500ms}\nprobe: {interval: 1h}\n'));
  t.equal(config.app.startTimeout, 90_000);
  t.equal(config.app.stopTimeout, 500);
  t.equal(config.probe.interval, 3_600_000);
  t.equal(config.probe.http.timeout, 1000, 'defaults too');
  t.equal(config.registry.consul.ttl, 15_000);
});

t.test('the JVM command', async (t) => {
  const given = loaded(load('project: demo\napp: {command: [java, -Xmx256m, -jar, /srv/svc.jar, --port, 9]}\n'));
  t.same(given.app.command, ['java', '-Xmx256m', '-jar', '/srv/svc.jar', '--port', '9'], 'numbers in the list become strings');
  t.equal(given.app.jar, '/srv/svc.jar', 'the jar is found in the command');

  const built = loaded(load('project: demo\nrunDir: /tmp/nile-run\napp: {jar: /srv/svc.jar, javaOpts: [-Xmx1g], args: [--spring.profiles.active=prod]}\n'));
  const cmd = built.app.command;
  t.equal(cmd[0], 'java');
  t.ok(cmd.includes('-XX:+HeapDumpOnOutOfMemoryError'));
  const heap = cmd.find((a) => a.startsWith('-XX:HeapDumpPath='));
  t.ok(heap?.startsWith('-XX:HeapDumpPath=/tmp/nile-run/'), `heap dump under runDir: ${heap}`);
  t.same(cmd.slice(-4), ['-Xmx1g', '-jar', '/srv/svc.jar', '--spring.profiles.active=prod'], 'options before -jar, args after');
  t.ok(cmd.indexOf('-XX:+HeapDumpOnOutOfMemoryError') < cmd.indexOf('-jar'));

  const cli = loaded(load('project: demo\napp: {command: [java, -jar, /a.jar], jar: /b.jar}\n', {}, ['sh', '-c', 'exec sleep 1']));
  t.same(cli.app.command, ['sh', '-c', 'exec sleep 1'], '`nile -- CMD` wins over app.command');
  const cliOverJar = loaded(load('project: demo\napp: {jar: /b.jar}\n', {}, ['java', '-jar', '/c.jar']));
  t.same(cliOverJar.app.command, ['java', '-jar', '/c.jar'], '`nile -- CMD` wins over app.jar');

  const fallback = loaded(load('project: demo\n'));
  t.equal(fallback.app.command[0], 'java');
  t.same(fallback.app.command.slice(-2), ['-jar', '/app/app.jar'], 'java -jar /app/app.jar by default');
  t.equal(fallback.app.jar, '/app/app.jar');
});

t.test('printConfig: durations as strings, secrets redacted, YAML that loads back the same', async (t) => {
  const config = loaded(
    load(
      `project: demo
app:
  env: {DB_PASSWORD: hunter2, API_TOKEN: tok-123, CLIENT_SECRET: s3cr3t, SIGNING_KEY: k-456, JAVA_TOOL_OPTIONS: -Xss1m, REGION: eu}
registry:
  consul: {url: "http://nile:consul-pass@127.0.0.1:8500"}
`,
      { POD_IP: '10.0.0.5' },
    ),
  );
  const text = printConfig(config);
  for (const secret of ['hunter2', 'tok-123', 's3cr3t', 'k-456', 'consul-pass']) t.notMatch(text, secret, `${secret} is not printed`);
  const printed = parse(text);
  t.equal(printed.app.startTimeout, '5m');
  t.equal(printed.app.stopTimeout, '30s');
  t.equal(printed.probe.http.timeout, '1s');
  t.match(printed.registry.consul.url, /^http:\/\/nile:[^@]*@127\.0\.0\.1:8500$/, 'user and host kept');
  t.match(printed.app.env, { JAVA_TOOL_OPTIONS: '-Xss1m', REGION: 'eu' }, 'ordinary values kept');
  t.same(Object.keys(printed.app.env).sort(), Object.keys(config.app.env).sort(), 'every name kept');
  t.equal(config.app.env.DB_PASSWORD, 'hunter2', 'the config itself is not changed');

  const plain = loaded(load('project: demo\napp: {jar: /srv/a.jar, javaOpts: [-Xmx1g]}\nprestop: {drain: {url: "http://127.0.0.1:8080/drain"}}\n', { POD_IP: '10.0.0.5' }));
  t.same(loaded(load(printConfig(plain))), plain, 'the printed config loads back to the same config');
});

t.test('parseDuration and formatDuration', async (t) => {
  const good: Array<[string, number]> = [['500ms', 500], ['10s', 10_000], ['5m', 300_000], ['1h', 3_600_000], ['1m30s', 90_000], ['0s', 0]];
  for (const [text, ms] of good) t.equal(parseDuration(text), ms, text);
  for (const text of ['5', '5 m', '-1s', '1d', '', 's', 'ms', '1m 30s', '10 seconds']) t.equal(parseDuration(text), undefined, `rejects ${JSON.stringify(text)}`);
  t.equal(formatDuration(300_000), '5m');
  t.equal(formatDuration(10_000), '10s');
  t.equal(formatDuration(3_600_000), '1h');
  t.equal(formatDuration(500), '500ms');
  for (const ms of [0, 1, 500, 1000, 1500, 90_000, 300_000, 3_600_000, 5_400_000]) t.equal(parseDuration(formatDuration(ms)), ms, `${ms} round-trips`);
});
