import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDuration } from '../src/config/duration.js';
import { leaves, loadConfig } from '../src/config/load.js';
import { requireNative } from '../src/native.js';
import { cleanEnv, eachLine } from './helpers/nile.js';
import { ROOT } from './helpers/paths.js';
import { waitFor } from './helpers/wait.js';
import { yamlFiles } from './helpers/yaml-files.js';

// Bad input of every kind ends as exit 2 with one line per bad field, quickly and without a stack trace.

const { dir, yamlFile } = yamlFiles(t, 'nile-config-hard-');

let runs = 0;

/** Runs `nile ARGS`; `cpuMs` is the CPU it used (GNU time), which a busy machine does not stretch as it does the wall clock. */
function nile(args: string[], env: NodeJS.ProcessEnv = {}) {
  const cpuFile = path.join(dir, `cpu-${++runs}`);
  const result = spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', cpuFile, process.execPath, path.join(ROOT, 'bin', 'nile.js'), ...args], { env: { ...cleanEnv(), ...env }, encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
  const [user, system] = readFileSync(cpuFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
  return { ...result, cpuMs: Math.round((user + system) * 1000) };
}

// Node's own start is part of each figure.
const quickCpuMs = 1500;

function refused(t: Test, result: ReturnType<typeof nile>, pattern: RegExp, what: string): void {
  t.equal(result.signal, null, `${what}: ended by itself`);
  t.equal(result.status, 2, `${what}: exit 2 (${result.stderr.slice(0, 300)})`);
  t.match(result.stderr, pattern, `${what}: says why`);
  t.notMatch(result.stderr, /\n\s+at /, `${what}: no stack trace`);
  t.ok(result.cpuMs < quickCpuMs, `${what}: answered with ${result.cpuMs}ms of CPU`);
}

// The documented maximum of every duration (README, Security): well inside a timer, with room for sums.
const maxDuration = '24h';

const errorsOf = (result: ReturnType<typeof loadConfig>) => (result.ok ? [] : result.errors);

t.test('Kubernetes service links are ignored; a misspelt key still exits 2', async (t) => {
  const file = yamlFile('project: demo\n');
  const links = {
    NILE_SERVICE_HOST: '10.0.0.1',
    NILE_SERVICE_PORT: '80',
    NILE_SERVICE_PORT_HTTP: '80',
    NILE_PORT: 'tcp://10.0.0.1:80',
    NILE_PORT_80_TCP: 'tcp://10.0.0.1:80',
    NILE_PORT_80_TCP_PROTO: 'tcp',
    NILE_PORT_80_TCP_PORT: '80',
    NILE_PORT_80_TCP_ADDR: '10.0.0.1',
    NILE_CANARY_SERVICE_HOST: '10.0.0.2',
    NILE_CANARY_SERVICE_PORT_GRPC_WEB: '9000',
    NILE_CANARY_PORT: 'tcp://10.0.0.2:9000',
    NILE_CANARY_PORT_9000_UDP_ADDR: '10.0.0.2',
  };
  const ok = nile(['config', '--config', file], links);
  t.equal(ok.status, 0, ok.stderr);
  const misspelt = nile(['config', '--config', file], { ...links, NILE_APP_STARTTIMOUT: '90s' });
  t.equal(misspelt.status, 2);
  t.match(misspelt.stderr, /NILE_APP_STARTTIMOUT: no such config key/);
  t.notMatch(misspelt.stderr, /SERVICE_HOST|NILE_PORT/, 'only the misspelt key is named');
  // `nile run` goes on, saying once (at debug) what it ignored.
  const runDir = path.join(dir, 'links-run');
  const run = spawn(process.execPath, [path.join(ROOT, 'bin', 'nile.js'), 'run', '--config', yamlFile(`project: demo\ntype: worker\nrunDir: ${runDir}\napp: {workdir: ${dir}}\n`), '--', 'sleep', '30'], {
    env: { ...cleanEnv(), ...links, NILE_LOG_LEVEL: 'debug' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise((resolve) => run.on('exit', resolve));
  t.teardown(() => (run.kill('SIGTERM'), exited)); // nile stops its app on TERM
  const lines: string[] = [];
  eachLine(run.stderr!, (line) => lines.push(line));
  // The app's start is logged after the config's notes: by then every one of them is out.
  await waitFor('nile run started the app', () => lines.some((l) => l.includes('"app started"')), 20_000);
  const said = lines.filter((l) => l.includes('ignored: Kubernetes service links'));
  t.equal(said.length, 1, 'one debug line');
  t.match(said[0] ?? '', /"level":20.*NILE_CANARY_SERVICE_HOST/, 'at debug, naming the variables');
  // A real key is never taken for a link.
  const errors = loadConfig({ env: { NILE_PROJECT: 'demo', NILE_PROBE_HTTP_PORT: 'x' } });
  t.ok(!errors.ok && errors.errors.some((e) => e.startsWith('probe.http.port')));
});

t.test('no runit services unless services: names a folder', async (t) => {
  const result = loadConfig({ env: { NILE_PROJECT: 'demo' } });
  t.ok(result.ok);
  if (result.ok) t.equal(result.config.services, '', 'none by default, not /etc/service');
});

t.test('NILE_LOG_LEVEL is checked like a config key', async (t) => {
  refused(t, nile(['config', '--config', yamlFile('project: demo\n')], { NILE_LOG_LEVEL: 'bogus' }), /NILE_LOG_LEVEL: must be one of/, 'config');
  refused(t, nile(['run', '--config', yamlFile('project: demo\n'), '--', 'true'], { NILE_LOG_LEVEL: 'bogus' }), /NILE_LOG_LEVEL: must be one of/, 'run');
});

t.test('a YAML alias bomb is refused', async (t) => {
  const bomb = ['project: demo', 'a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 0; i < 8; i++) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill('*' + String.fromCharCode(97 + i)).join(',')}]`);
  refused(t, nile(['config', '--config', yamlFile(bomb.join('\n') + '\n')]), /alias/i, 'alias bomb');
});

t.test('a config file over 1 MiB is refused before it is parsed', async (t) => {
  const lines = ['project: demo', 'app:', '  env:'];
  for (let i = 0; i < 20_000; i++) lines.push(`    KEY_${i}: value-${i}-${'v'.repeat(40)}`); // ~1.2 MiB
  refused(t, nile(['config', '--config', yamlFile(lines.join('\n') + '\n')]), /larger than 1 MiB/, '1.2 MiB file');
});

t.test('long strings and project names are refused', async (t) => {
  const long = loadConfig({ file: yamlFile(`project: demo\napp: {workdir: /${'a'.repeat(5000)}}\n`), env: {} });
  t.ok(!long.ok && long.errors.some((e) => /^app\.workdir: longer than 4096/.test(e)), JSON.stringify(!long.ok && long.errors).slice(0, 200));
  t.ok(!long.ok && long.errors.every((e) => e.length < 300), 'the value is not repeated');
  const project = loadConfig({ env: { NILE_PROJECT: 'p'.repeat(64) } });
  t.ok(!project.ok && project.errors.some((e) => /^project: .*63/.test(e)));
  const notLabel = loadConfig({ env: { NILE_PROJECT: 'Demo_Web' } });
  t.ok(!notLabel.ok && notLabel.errors.some((e) => /^project: /.test(e)), 'a DNS label: lower case letters, digits and -');
  t.ok(loadConfig({ env: { NILE_PROJECT: 'p'.repeat(63) } }).ok, '63 characters is fine');
});

t.test('validation is linear in the input', async (t) => {
  const time = (n: number) => {
    const lines = ['project: demo', 'app:', '  env:'];
    for (let i = 0; i < n; i++) lines.push(`    K${i}: v${i}`);
    const file = yamlFile(lines.join('\n') + '\n');
    const env: NodeJS.ProcessEnv = { NILE_PROJECT: 'demo' };
    for (let i = 0; i < n; i++) env[`NILE_APP_ENV_E${i}`] = 'x';
    // CPU time, not the wall clock: another process taking the core between two runs must not look like our work.
    const before = process.cpuUsage();
    const result = loadConfig({ file, env });
    const cpu = process.cpuUsage(before);
    t.ok(result.ok);
    return (cpu.user + cpu.system) / 1000;
  };
  time(1000); // warm up
  const small = Math.min(time(4000), time(4000));
  const large = Math.min(time(16000), time(16000));
  t.ok(large < small * 8, `4× the keys took ${(large / small).toFixed(1)}× the time (${small.toFixed(0)}ms → ${large.toFixed(0)}ms)`);
});

t.test('an IPv6 registry address is refused for the ip:port layouts', async (t) => {
  const zk = loadConfig({ env: { NILE_PROJECT: 'demo', NILE_REGISTRY_ADDRESS: 'fd00::1', NILE_REGISTRY_ZOOKEEPER_CONNECT: '127.0.0.1:2181' } });
  t.ok(!zk.ok && zk.errors.some((e) => /^registry\.address: .*IPv6/.test(e)), JSON.stringify(!zk.ok && zk.errors));
  const kv = loadConfig({ env: { NILE_PROJECT: 'demo', POD_IP: 'fd00::2', NILE_REGISTRY_CONSUL_URL: 'http://127.0.0.1:8500' } });
  t.ok(!kv.ok && kv.errors.some((e) => /^registry\.address: .*IPv6/.test(e)), 'from POD_IP too');
  t.ok(loadConfig({ env: { NILE_PROJECT: 'demo', POD_IP: 'fd00::2', NILE_REGISTRY_CONSUL_URL: 'http://127.0.0.1:8500', NILE_REGISTRY_CONSUL_MODE: 'service' } }).ok, 'service mode takes it');
  t.ok(loadConfig({ env: { NILE_PROJECT: 'demo', POD_IP: 'fd00::2' } }).ok, 'no registry: nothing to refuse');
});

t.test('every verb parses its flags strictly; VERB --help prints that verb', async (t) => {
  const file = yamlFile('project: demo\n');
  refused(t, nile(['status', '--jsn']), /nile status: Unknown option '--jsn'[\s\S]*usage: nile status/, 'status --jsn');
  refused(t, nile(['--confg', file]), /Unknown option '--confg'[\s\S]*usage: nile \[run\]/, 'run --confg');
  refused(t, nile(['config', '--config', file, '--verbose']), /usage: nile config/, 'config --verbose');
  refused(t, nile(['probe', '--config']), /usage: nile probe/, 'probe --config without a value');
  refused(t, nile(['sv', '--bogus', 'status', 'app']), /usage: nile sv/, 'sv --bogus');
  for (const verb of ['run', 'probe', 'prestop', 'status', 'sv', 'doctor', 'config']) {
    const help = nile([verb, '--help']);
    t.equal(help.status, 0, `${verb} --help exits 0`);
    t.match(help.stdout, new RegExp(`^usage: nile ${verb === 'run' ? '\\[run\\]' : verb}`), `${verb} --help prints its usage`);
  }
  const version = nile(['version', '--help']);
  t.equal(version.status, 0, 'version --help exits 0');
  t.match(version.stdout, /^usage: nile version/, 'version --help prints its usage, not the version');
  t.match(nile(['version']).stdout, /^nile \d+\.\d+\.\d+/, 'version prints the version');
  t.match(nile(['version', '--config', yamlFile('project: demo\n')]).stdout, /^nile \d+\.\d+\.\d+/, 'and takes --config as every verb');
  refused(t, nile(['version', '--bogus']), /usage: nile version/, 'version --bogus');
});

t.test('nile sv takes --config like the other verbs', async (t) => {
  const runDir = path.join(dir, 'sv-run');
  mkdirSync(path.join(runDir, 'service', 'app'), { recursive: true });
  const result = nile(['sv', '--config', yamlFile(`project: demo\nrunDir: ${runDir}\n`), 'status', 'app']);
  t.match(result.stdout + result.stderr, /app: unable to open supervise\/ok/, 'the service directory under the config file\'s runDir');
});

t.test('a value that goes into sshd_config cannot carry a second directive', async (t) => {
  const injected = loadConfig({ file: yamlFile('project: demo\nsshd: {enabled: true, listen: "0.0.0.0\\nBanner /etc/shadow"}\n'), env: {} });
  t.match(errorsOf(injected), [/^sshd\.listen: /], 'from the file');
  t.ok(errorsOf(injected).every((e) => !e.includes('\n')), 'the error is one line');
  const fromEnv = loadConfig({ env: { NILE_PROJECT: 'demo', NILE_SSHD_LISTEN: '127.0.0.1\nBanner /etc/shadow' } });
  t.match(errorsOf(fromEnv), [/^sshd\.listen: /], 'from NILE_SSHD_LISTEN');
  const keys = loadConfig({ env: { NILE_PROJECT: 'demo', NILE_SSHD_AUTHORIZEDKEYSFILE: '/k\rPermitEmptyPasswords yes' } });
  t.match(errorsOf(keys), [/^sshd\.authorizedKeysFile: /], 'a carriage return too');
  // The host keys sshd_config names live in runDir.
  const runDir = loadConfig({ env: { NILE_PROJECT: 'demo', NILE_RUNDIR: '/run/nile\nBanner /etc/shadow' } });
  t.match(errorsOf(runDir), [/^runDir: /], 'runDir');
  t.match(errorsOf(loadConfig({ env: { NILE_PROJECT: 'demo', NILE_SSHD_LISTEN: '0.0.0.0 rdomain x' } })), [/^sshd\.listen: .*address/], 'one address, nothing after it');
  for (const listen of ['0.0.0.0', '127.0.0.1', '::', 'fd00::1', 'localhost', 'ssh.pod.internal']) t.ok(loadConfig({ env: { NILE_PROJECT: 'demo', NILE_SSHD_LISTEN: listen } }).ok, `${listen} is an address`);
  refused(t, nile(['config', '--config', yamlFile('project: demo\nsshd: {listen: "0.0.0.0\\nBanner /etc/shadow"}\n')]), /sshd\.listen: /, 'nile config');
});

t.test('single-line values refuse control characters; the multi-line ones keep them', async (t) => {
  const bad = loadConfig({ env: { NILE_PROJECT: 'demo', NILE_REGISTRY_UPSTREAM: 'web\u0007', NILE_APP_WORKDIR: '/app\n' } });
  t.match(errorsOf(bad).sort(), [/^app\.workdir: .*control character/, /^registry\.upstream: .*control character/]);
  const body = loadConfig({ file: yamlFile('project: demo\nonline:\n  - {name: gw, url: "http://127.0.0.1:1/", body: "{\\n  \\"a\\": 1\\n}"}\n'), env: {} });
  t.ok(body.ok, `a call body may span lines: ${errorsOf(body).join('; ')}`);
});

t.test('every duration is bounded below the 24.8 days Node timers hold', async (t) => {
  t.ok(parseDuration(maxDuration)! < 2 ** 31 - 1, 'the maximum fits a timer');
  const durations = leaves().filter((leaf) => leaf.spec.t === 'duration');
  t.ok(durations.length >= 8, `${durations.length} duration keys`);
  for (const { path: at } of durations) {
    const name = 'NILE_' + at.map((p) => p.toUpperCase()).join('_');
    const key = at.join('.');
    const over = loadConfig({ env: { NILE_PROJECT: 'demo', [name]: '1000h' } });
    t.same(errorsOf(over), [`${key}: at most ${maxDuration}, got 1000h`], `${key}: 1000h refused, naming the maximum`);
    t.ok(loadConfig({ env: { NILE_PROJECT: 'demo', [name]: maxDuration } }).ok, `${key}: the maximum itself is fine`);
  }
  const call = loadConfig({ file: yamlFile('project: demo\noffline:\n  - {name: gw, url: "http://127.0.0.1:1/", timeout: 600h}\n'), env: {} });
  t.match(errorsOf(call), [/^offline\[0\]\.timeout: at most /], 'the calls\' timeouts too');
  refused(t, nile(['config', '--config', yamlFile('project: demo\napp: {startTimeout: 1000h}\n')]), /app\.startTimeout: at most 24h, got 1000h/, 'nile config');
});

t.test('the config file is a regular file read with a bound', async (t) => {
  refused(t, nile(['config'], { NILE_CONFIG: '/dev/zero' }), /\/dev\/zero: cannot read: not a regular file \(a character device\)/, '/dev/zero');
  const fifo = path.join(dir, 'fifo.yaml');
  requireNative().mkfifo(fifo, 0o600);
  refused(t, nile(['config', '--config', fifo]), /fifo\.yaml: cannot read: not a regular file \(a FIFO\)/, 'a FIFO');
  refused(t, nile(['config', '--config', dir]), /not a regular file/, 'a directory');
  refused(t, nile(['run', '--config', fifo, '--', 'true']), /fifo\.yaml: cannot read: not a regular file/, 'nile run');
});
