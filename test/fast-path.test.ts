import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { stringify } from 'yaml';
import { maxProbeOutputBytes, startPod, type Kubelet } from './helpers/kubelet.js';
import { cleanEnv } from './helpers/nile.js';
import { startFastReference, type FastReference } from './helpers/fast-reference.js';
import type { FastVerb } from '../src/cli/args.cjs';
import { initialState, type AppState } from '../src/app/machine.js';
import { verdict } from '../src/agent/verdict.js';
import { NILE_BIN, NILE_NATIVE, ROOT } from './helpers/paths.js';

// `nile probe`, `prestop` and `status` run on every probe period of every pod. `nile` on PATH is the
// native front door (native/nile.c): it answers them without starting Node, and must say exactly
// what bin/nile.js says. bin/nile.js, where the front door is not built, must load a socket client
// and nothing of the agent: each command runs with a preload that records every module it loads
// (test/helpers/module-recorder.ts).

const recorder = new URL('./helpers/module-recorder.js', import.meta.url).href;

const heavy: Array<[string, RegExp]> = [
  ['execa', /\/node_modules\/execa\//],
  ['undici', /\/node_modules\/undici\//],
  ['pino', /\/node_modules\/pino\//],
  ['node-zookeeper-client', /\/node_modules\/node-zookeeper-client\//],
  ['consul', /\/node_modules\/consul\//],
];
// The config code, module by module or in the bundle the other verbs load (yaml and the schema are in it).
const configCode: Array<[string, RegExp]> = [
  ['yaml', /\/node_modules\/yaml\//],
  ['src/config/schema', /\/dist\/src\/config\/schema\.js$/],
  ['src/config/load', /\/dist\/src\/config\/load\.js$/],
  ['the bundle', /\/dist\/bundle\/main\.js$/],
  ['the bundle\'s config', /\/dist\/bundle\/config\/load\.js$/],
];

interface Recorded {
  code: number | null;
  stdout: string;
  stderr: string;
  modules: string[];
}

function recordingEnv(t: Test): { env: Record<string, string>; read: () => string[] } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-modules-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'modules');
  writeFileSync(file, '');
  // The front door keeps NODE_OPTIONS from nile's own Node (native/nile.c): the `node` it runs records instead.
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'node'), `#!/bin/sh\nexec '${process.execPath}' --import=${recorder} "$@"\n`, { mode: 0o755 });
  const env = { NODE_OPTIONS: `--import=${recorder}`, MODULE_RECORD_FILE: file, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` };
  return { env, read: () => [...new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean))] };
}

// `nile` as the kubelet runs it (the front door on PATH), or bin/nile.js under Node.
type Door = 'native' | 'node';
const command = (door: Door, args: string[]) => (door === 'native' ? [NILE_NATIVE, ...args] : [process.execPath, NILE_BIN, ...args]);

async function inPod(t: Test, pod: Kubelet, args: string[], door: Door = 'native'): Promise<Recorded> {
  const { env, read } = recordingEnv(t);
  const run = await pod.execInPod(command(door, args), 15_000, env);
  return { code: run.code, stdout: run.stdout, stderr: run.stderr, modules: read() };
}

// Asynchronous: the app or the agent it asks is served by this process.
// How a run on the host is made: as another user (its runs are not recorded), and whether its modules are recorded.
interface HostRun {
  uid?: number;
  recorded?: boolean;
}

async function onHost(t: Test, args: string[], env: Record<string, string>, door: Door = 'node', { uid, recorded = true }: HostRun = {}): Promise<Recorded & { signal: string | null }> {
  // Another user could not write the record: its runs are not recorded.
  // The recorder's loader thread costs Node a third more CPU a run: the comparisons of answers go without it.
  const recording = uid === undefined && recorded ? recordingEnv(t) : { env: {}, read: () => [] };
  const [file, ...rest] = command(door, args);
  const child = execFile(file, rest, { env: { ...cleanEnv(), ...env, ...recording.env }, encoding: 'utf8', timeout: 15_000, uid });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.on('data', (chunk: string) => (stderr += chunk));
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('close', (status, sig) => resolve([status, sig])));
  return { code, signal, stdout, stderr, modules: recording.read() };
}

const unrecorded: HostRun = { recorded: false };

/** The front door and bin/nile.js, run the same way: the same stdout, stderr and exit status. */
async function bothDoors(t: Test, what: string, args: string[], env: Record<string, string>, run: HostRun = {}): Promise<Recorded> {
  // At once: each is a client of its own, and their answers are compared, not their order.
  const [native, node] = await Promise.all([onHost(t, args, env, 'native', run), onHost(t, args, env, 'node', run)]);
  t.equal(native.signal, null, `${what}: the front door was not killed by a signal`);
  t.same({ code: native.code, stdout: native.stdout, stderr: native.stderr }, { code: node.code, stdout: node.stdout, stderr: node.stderr }, `${what}: the front door says what bin/nile.js says`);
  return native;
}

/**
 * The front door against bin/nile.js's own command run in the one reference Node (helpers/fast-reference.ts):
 * for the many answers of a fuzz, where a Node started for each would cost a second of CPU per ten.
 * `bothDoors` compares the two doors whole, each run as the kubelet runs it.
 */
async function againstReference(t: Test, reference: FastReference, what: string, args: string[], env: Record<string, string>): Promise<Recorded> {
  const [native, node] = await Promise.all([onHost(t, args, env, 'native', unrecorded), reference.run(args[0] as FastVerb, args.slice(1), env)]);
  t.equal(native.signal, null, `${what}: the front door was not killed by a signal`);
  t.same({ code: native.code, stdout: native.stdout, stderr: native.stderr }, node, `${what}: the front door says what bin/nile.js's command says`);
  return native;
}

function reference(t: Test): FastReference {
  const started = startFastReference(cleanEnv());
  t.teardown(() => started.close());
  return started;
}

function loadsNone(t: Test, what: string, run: Recorded, banned: Array<[string, RegExp]>): void {
  t.ok(run.modules.some((m) => m.endsWith('/bin/nile.js')), `${what}: the recorder saw the modules it loaded (${run.modules.length})`);
  for (const [name, pattern] of banned) {
    const hits = run.modules.filter((m) => pattern.test(m));
    t.same(hits, [], `${what} does not load ${name}`);
  }
}

t.test('probe, status and prestop against a running agent: the front door starts no Node, bin/nile.js loads a socket client only', async (t) => {
  const pod = await startPod(t, {
    door: 'front',
    name: 'fast-path',
    nile: { project: 'fast-path', type: 'worker', app: { command: ['sleep', '600'] }, probe: { interval: '200ms' }, prestop: { wait: '100ms' } },
    readinessProbe: null,
  });
  await pod.nile.waitPhase('ready', 15_000);
  // The agent's command line is its title by now (src/pid1/title.ts): its maps show what it runs.
  const agentMaps = readFileSync(`/proc/${pod.nile.agentHostPid()}/maps`, 'utf8');
  t.match(agentMaps, /\/build\/Release\/nile_native\.node/, 'ENTRYPOINT nile: the front door runs the Node agent as its child');

  for (const args of [['probe'], ['probe', '--json'], ['status'], ['status', '--json']]) {
    const what = `nile ${args.join(' ')}`;
    const native = await inPod(t, pod, args);
    const node = await inPod(t, pod, args, 'node');
    t.equal(native.code, 0, `${what}: 0 from the front door`);
    t.same(native.modules, [], `${what}: the front door answered without starting Node`);
    // Uptimes move between the two runs: every number is masked.
    const masked = (text: string) => text.replace(/\d+(\.\d+)?/g, 'N');
    t.same({ code: native.code, stdout: masked(native.stdout), stderr: native.stderr }, { code: node.code, stdout: masked(node.stdout), stderr: node.stderr }, `${what}: the same answer as bin/nile.js`);
    loadsNone(t, `${what} under Node`, node, [...heavy, ...configCode]);
    if (args[0] === 'probe') t.ok(node.modules.some((m) => m.endsWith('/dist/src/control/client.cjs')), `${what} under Node asked the agent over the socket`);
  }

  const probe = await inPod(t, pod, ['probe']);
  t.match(probe.stdout, /^ready[^\n]*\n$/, 'one line');
  t.ok(Buffer.byteLength(probe.stdout + probe.stderr) < maxProbeOutputBytes, `under the 10 KiB the kubelet keeps (${probe.stdout.length} bytes)`);
  const json = await inPod(t, pod, ['probe', '--json']);
  t.same(JSON.parse(json.stdout), { ready: true, reason: probe.stdout.trim() }, 'nile probe --json: the same verdict');

  // Verbs the front door does not answer go to Node in the same process: `nile config` loads the config code.
  const config = await inPod(t, pod, ['config']);
  t.equal(config.code, 0, 'nile config validates the pod config');
  t.ok(configCode.some(([, pattern]) => config.modules.some((m) => pattern.test(m))), `the recorder sees nile config load the config code (${config.modules.filter((m) => m.includes('/dist/')).join(', ')})`);

  const prestop = await inPod(t, pod, ['prestop']);
  t.equal(prestop.code, 0, 'nile prestop returns 0');
  t.equal(prestop.stdout, 'prestop: out of traffic\n', 'the agent took it out of traffic');
  t.same(prestop.modules, [], 'nile prestop: the front door answered without starting Node');
  const again = await inPod(t, pod, ['prestop'], 'node');
  t.equal(again.stdout, 'prestop: out of traffic\n', 'bin/nile.js prestop: the same');
  loadsNone(t, 'nile prestop under Node', again, [...heavy, ...configCode]);
  const draining = await inPod(t, pod, ['probe']);
  t.same([draining.code, draining.stdout], [1, 'not ready: draining\n'], 'draining: not ready, from the front door');
  const drainingNode = await inPod(t, pod, ['probe'], 'node');
  t.same([drainingNode.code, drainingNode.stdout], [draining.code, draining.stdout], 'and from bin/nile.js');
});

t.test('with no agent answering, nile probe checks the app itself with node:http and says so', async (t) => {
  let healthy = true;
  const app = http.createServer((req, res) => {
    res.statusCode = req.url === '/healthcheck' && healthy ? 200 : 503;
    res.end();
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  t.teardown(() => app.close());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-noagent-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = path.join(dir, 'nile.yaml');
  const port = (app.address() as AddressInfo).port;
  writeFileSync(configFile, stringify({ project: 'no-agent', type: 'web', runDir: path.join(dir, 'run'), probe: { http: { port } } }));
  const env = { NILE_CONFIG: configFile }; // as in the image: no flag, the config where nile looks for it

  const up = await onHost(t, ['probe'], env);
  t.equal(up.code, 0, 'ready when the app answers 200');
  const upNative = await onHost(t, ['probe'], env, 'native');
  t.same([upNative.code, upNative.stdout.replace(/in \d+ms/, '')], [up.code, up.stdout.replace(/in \d+ms/, '')], 'the front door hands it to Node: the same verdict');
  t.ok(upNative.modules.some((m) => m.endsWith('/bin/nile.js')), 'the front door became bin/nile.js (execv)');
  t.match(up.stdout, /^ready: no agent answering; http 200 \/healthcheck/, 'and says there is no agent');
  loadsNone(t, 'nile probe without an agent', up, heavy);
  t.ok(up.modules.includes('node:http'), 'it used node:http');

  healthy = false;
  const sick = await onHost(t, ['probe'], env);
  t.equal(sick.code, 1, 'not ready when the app answers 503');
  t.match(sick.stdout, /^not ready: no agent answering; .*503/, 'with the status it got');

  app.close();
  app.closeAllConnections();
  const down = await onHost(t, ['probe'], env);
  t.equal(down.code, 1, 'not ready when nothing listens');
  await bothDoors(t, 'no agent, nothing listening', ['probe'], env);
  await bothDoors(t, 'no agent: status', ['status'], env);
  t.match(down.stdout, /^not ready: no agent answering; /, 'and says so');
  t.ok(Buffer.byteLength(down.stdout) < 1024, 'in one short line');
});

/** A stand-in agent on a control socket: answers each request line with what `answer` returns (null: never answers). */
async function fakeAgent(t: Test, answer: (request: string) => Buffer | string | null): Promise<{ runDir: string; socket: string }> {
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'nile-fake-agent-'));
  chmodSync(runDir, 0o755);
  const socket = path.join(runDir, 'control.sock');
  const hanging = new Set<net.Socket>();
  const server = net.createServer((conn) => {
    let request = '';
    conn.on('error', () => {});
    conn.on('data', (chunk) => {
      request += chunk.toString();
      if (!request.includes('\n')) return;
      const reply = answer(request.trim());
      if (reply === null) hanging.add(conn);
      else conn.end(reply);
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.teardown(() => {
    for (const conn of hanging) conn.destroy();
    server.close();
    rmSync(runDir, { recursive: true, force: true });
  });
  return { runDir, socket };
}

function validJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const answerOf = (v: { ready: boolean; reason: string }) => JSON.stringify({ ok: true, ...v }) + '\n';

t.test('the front door gives the agent\'s verdict for every state, as bin/nile.js does', async (t) => {
  const now = Date.now();
  const base = initialState(now - 5000);
  const probe = { ok: true, detail: 'http 200 /healthcheck in 3ms', at: now };
  const failing = { ok: false, detail: '/healthcheck connect ECONNREFUSED 127.0.0.1:8080', at: now };
  const report = { kind: 'exited' as const, reason: 'startup failed: app exited with status 1 after 3.2s', at: new Date(now).toISOString(), startedAt: null, afterMs: 3200, exit: { code: 1, signal: null }, command: ['java'], lastOutput: [], findings: [{ cause: 'port-in-use', summary: 'port 8080 is already in use — «déjà» 🚫', evidence: [] }] };
  const cases: Array<[string, AppState, boolean, string | null]> = [
    ['ready', { ...base, phase: 'ready', pid: 42, startedAt: now - 5000, probe }, false, null],
    ['registering', { ...base, phase: 'ready', pid: 42, startedAt: now - 5000, probe }, false, 'zookeeper: connect ECONNREFUSED 127.0.0.1:2181'],
    ['starting', { ...base, phase: 'starting', pid: 42, startedAt: now - 1500, probe: failing }, false, null],
    ['health check failing', { ...base, phase: 'notReady', pid: 42, startedAt: now - 5000, probe: failing }, false, null],
    ['failed', { ...base, phase: 'failed', pid: null }, false, null],
    ['restarting', { ...base, phase: 'restarting', pid: null }, false, null],
    ['down', { ...base, phase: 'down', want: 'down', pid: null }, false, null],
    ['stopping', { ...base, phase: 'stopping', pid: 42 }, false, null],
    ['draining', { ...base, phase: 'ready', pid: 42, probe }, true, null],
  ];
  let current = '';
  const agent = await fakeAgent(t, () => current);
  const node = reference(t);
  for (const [name, state, draining, registering] of cases) {
    const v = verdict(state, state.phase === 'ready' ? null : report, draining, now, { registering });
    current = answerOf(v);
    const plain = await againstReference(t, node, `${name}: nile probe`, ['probe'], { NILE_RUNDIR: agent.runDir });
    t.same([plain.code, plain.stdout], [v.ready ? 0 : 1, v.reason + '\n'], `${name}: exit ${v.ready ? 0 : 1}, "${v.reason}"`);
    await againstReference(t, node, `${name}: nile probe --json`, ['probe', '--json'], { NILE_RUNDIR: agent.runDir });
  }
  current = answerOf(verdict(cases[0][1], null, false, now, { registering: null }));
  await bothDoors(t, 'ready: nile probe, bin/nile.js run whole', ['probe'], { NILE_RUNDIR: agent.runDir }, unrecorded);
  t.equal(cases.filter(([name]) => name === 'registering').length, 1, 'a ready app not yet registered is among them');
});

t.test('the front door survives any answer: truncated, fuzzed, odd, late, refused', async (t) => {
  const good = answerOf({ ready: true, reason: 'ready (http 200 /healthcheck in 2ms) ✓' });
  const long = answerOf({ ready: false, reason: `not ready: ${'x'.repeat(1010)}🚀🚀 after the cut` });
  const answers: Array<[string, Buffer | string]> = [
    ['empty', ''],
    ['whitespace only', ' \n\t '],
    ['not JSON', 'hello agent\n'],
    ['null', 'null\n'],
    ['an array', '[true, "ready"]\n'],
    ['ready not a boolean', '{"ready":"yes","reason":"ready"}\n'],
    ['reason not a string', '{"ready":true,"reason":["ready"]}\n'],
    ['no reason', '{"ready":true}\n'],
    ['duplicate keys', '{"ready":false,"reason":"first","ready":true,"reason":"second"}\n'],
    ['escapes', '{"ready":false,"reason":"a\\"b\\\\c\\n\\t\\u0001\\u00e9\\ud83d\\ude80 \\ud800 lone"}\n'],
    ['escaped key', '{"re\\u0061dy":true,"reason":"ready by escape"}\n'],
    ['Unicode spaces around', '\u00a0\ufeff{"ready":true,"reason":"ok"}\u2028\n'],
    ['invalid UTF-8', Buffer.concat([Buffer.from('{"ready":false,"reason":"bad '), Buffer.from([0xc3, 0x28, 0xff, 0xed, 0xa0, 0x80, 0xf0, 0x9f]), Buffer.from('"}\n')])],
    ['a reason past 1024 units, cut in a surrogate pair', long],
    ['deep nesting', '{"ready":true,"reason":"deep","x":' + '['.repeat(100) + ']'.repeat(100) + '}\n'],
    ['trailing garbage', good.trim() + ' x\n'],
  ];
  for (let cut = 1; cut < good.length - 2; cut += 7) answers.push([`truncated at ${cut}`, good.slice(0, cut)]);
  let seed = 13;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 8; i++) answers.push([`random bytes ${i}`, Buffer.from(Array.from({ length: 1 + Math.floor(random() * 300) }, () => Math.floor(random() * 256)))]);
  for (let i = 0; i < 8; i++) {
    const bytes = Buffer.from(good);
    for (let k = 0; k < 3; k++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
    answers.push([`mutated ${i}`, bytes]);
  }
  let current: Buffer | string | null = '';
  const agent = await fakeAgent(t, () => current);
  const env = { NILE_RUNDIR: agent.runDir };
  const node = reference(t);
  for (const [name, answer] of answers) {
    current = answer;
    const run = await againstReference(t, node, `${name}: nile probe`, ['probe'], env);
    t.ok(run.code === 0 || run.code === 1, `${name}: exit 0 or 1 (${run.code})`);
    await againstReference(t, node, `${name}: nile probe --json`, ['probe', '--json'], env);
  }
  for (const [name, answer] of answers.slice(0, 16)) {
    current = answer;
    const text = answer.toString();
    if (validJson(text) && JSON.stringify(JSON.parse(text)) !== text.trim()) {
      // The front door re-indents what JSON.stringify wrote; other JSON keeps its own escapes and keys.
      const run = await onHost(t, ['status', '--json'], env, 'native', unrecorded);
      t.same([run.code, run.signal, JSON.parse(run.stdout)], [0, null, JSON.parse(text)], `${name}: nile status --json prints the same JSON`);
    } else {
      await againstReference(t, node, `${name}: nile status --json`, ['status', '--json'], env);
    }
  }

  current = null;
  const late = await bothDoors(t, 'no answer', ['probe'], env);
  t.same([late.code, late.stdout], [1, 'not ready: the agent did not answer (no answer within 800ms)\n'], 'an agent that does not answer: not ready within the probe timeout');
  current = Buffer.alloc(70 << 20, 'x');
  const huge = await onHost(t, ['probe'], env, 'native');
  t.same([huge.code, huge.signal], [1, null], 'an answer of 70 MiB: not ready, no crash');

  const refusedDir = mkdtempSync(path.join(os.tmpdir(), 'nile-refused-'));
  t.teardown(() => rmSync(refusedDir, { recursive: true, force: true }));
  // A socket file no one listens on, as a crashed agent leaves it.
  const bound = spawnSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', path.join(refusedDir, 'control.sock')]);
  t.equal(bound.status, 0, 'a dead socket file is left');
  await bothDoors(t, 'refused: nile probe', ['probe'], { NILE_RUNDIR: refusedDir, NILE_CONFIG: path.join(refusedDir, 'none.yaml') });
  await bothDoors(t, 'refused: nile status', ['status'], { NILE_RUNDIR: refusedDir });
});

t.test('a control socket the caller may not open: the same not-ready line from both', async (t) => {
  const agent = await fakeAgent(t, () => answerOf({ ready: true, reason: 'ready' }));
  chmodSync(agent.socket, 0o600); // as the agent makes it; the caller runs as nobody
  const run = await bothDoors(t, 'EACCES: nile probe', ['probe'], { NILE_RUNDIR: agent.runDir }, { uid: 65534 });
  t.same([run.code, run.stdout], [1, `not ready: the agent did not answer (runDir ${agent.runDir} is root's and this runs as uid 65534: only nile's own user asks it)\n`], 'not ready, saying why');
  await bothDoors(t, 'EACCES: nile status', ['status'], { NILE_RUNDIR: agent.runDir }, { uid: 65534 });
});

t.test('flags the front door does not own go to Node, which answers with its usage', async (t) => {
  for (const args of [['probe', '--help'], ['probe', '--bogus'], ['status', '--config'], ['status', '--bogus'], ['version']]) {
    await bothDoors(t, `nile ${args.join(' ')}`, args, { NILE_RUNDIR: '/nonexistent' });
  }
});

t.test('the ESM main, run without bin/nile.js, routes the kubelet\'s verbs to the same socket clients', async (t) => {
  const env = { ...cleanEnv(), NILE_RUNDIR: '/nonexistent' };
  const viaBin = spawnSync(process.execPath, [NILE_BIN, 'status'], { env, encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
  for (const main of [path.join(ROOT, 'dist', 'bundle', 'main.js'), path.join(ROOT, 'dist', 'src', 'main.js')]) {
    const run = spawnSync(process.execPath, [main, 'status'], { env, encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' });
    t.same({ code: run.status, stdout: run.stdout, stderr: run.stderr }, { code: viaBin.status, stdout: viaBin.stdout, stderr: viaBin.stderr }, `${path.relative(ROOT, main)} status says what bin/nile.js says`);
  }
});

t.test('the front door finds the agent with --config F or NILE_CONFIG itself, and reads no config that is not a small regular file', async (t) => {
  const verdictLine = { ready: true, reason: 'ready (http 200 /healthcheck in 2ms)' };
  const agent = await fakeAgent(t, () => answerOf(verdictLine));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-config-door-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'nile.yaml');
  writeFileSync(file, `# the pod's config\nproject: door\nrunDir: ${agent.runDir}   # on the emptyDir\napp:\n  command: [sleep, '1']\n`);
  for (const [what, args, env] of [
    ['nile probe --config F', ['probe', '--config', file], {}],
    ['nile probe --config=F', ['probe', `--config=${file}`], {}],
    ['NILE_CONFIG=F nile probe', ['probe'], { NILE_CONFIG: file }],
    ['nile status --json --config F', ['status', '--json', '--config', file], {}],
  ] as Array<[string, string[], Record<string, string>]>) {
    const native = await bothDoors(t, what, args, env);
    t.same(native.modules, [], `${what}: answered by the front door, no Node started`);
  }
  const quoted = path.join(dir, 'quoted.yaml');
  writeFileSync(quoted, `project: door\nrunDir: "${agent.runDir}"\n`);
  t.same((await onHost(t, ['probe', '--config', quoted], {}, 'native')).modules, [], 'a quoted runDir too');
  const big = path.join(dir, 'big.yaml');
  writeFileSync(big, `project: door\nrunDir: ${agent.runDir}\n# ${'x'.repeat(1024 * 1024)}\n`);
  const refused = await onHost(t, ['probe', '--config', big], {}, 'native');
  t.ok(refused.modules.some((m) => m.endsWith('/bin/nile.js')), 'a config over 1 MiB is not read by the front door: Node says why');
  t.match(refused.stdout, /config is invalid: .*larger than 1 MiB/, `and Node refuses it (${refused.stdout.trim()})`);
});
