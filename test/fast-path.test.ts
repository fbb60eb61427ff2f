import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { stringify } from 'yaml';
import { maxProbeOutputBytes, startPod, type Kubelet } from './helpers/kubelet.js';
import { cleanEnv } from './helpers/nile.js';
import { NILE_BIN } from './helpers/paths.js';

// `nile probe`, `prestop` and `status` run on every probe period of every pod: they must load a
// socket client and nothing of the agent. Each command runs with a preload that records every
// module it loads (test/helpers/module-recorder.ts).

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
  return { env: { NODE_OPTIONS: `--import=${recorder}`, MODULE_RECORD_FILE: file }, read: () => [...new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean))] };
}

async function inPod(t: Test, pod: Kubelet, args: string[]): Promise<Recorded> {
  const { env, read } = recordingEnv(t);
  const run = await pod.execInPod(['nile', ...args], 15_000, env);
  return { code: run.code, stdout: run.stdout, stderr: run.stderr, modules: read() };
}

// Asynchronous: the app it probes is served by this process.
async function onHost(t: Test, args: string[], env: Record<string, string>): Promise<Recorded> {
  const recording = recordingEnv(t);
  const child = execFile(process.execPath, [NILE_BIN, ...args], { env: { ...cleanEnv(), ...env, ...recording.env }, encoding: 'utf8', timeout: 15_000 });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', (status) => resolve(status)));
  return { code, stdout, stderr, modules: recording.read() };
}

function loadsNone(t: Test, what: string, run: Recorded, banned: Array<[string, RegExp]>): void {
  t.ok(run.modules.some((m) => m.endsWith('/bin/nile.js')), `${what}: the recorder saw the modules it loaded (${run.modules.length})`);
  for (const [name, pattern] of banned) {
    const hits = run.modules.filter((m) => pattern.test(m));
    t.same(hits, [], `${what} does not load ${name}`);
  }
}

t.test('probe, status and prestop against a running agent load a socket client only', async (t) => {
  const pod = await startPod(t, {
    name: 'fast-path',
    nile: { project: 'fast-path', type: 'worker', app: { command: ['sleep', '600'] }, probe: { interval: '200ms' }, prestop: { wait: '100ms' } },
    readinessProbe: null,
  });
  await pod.nile.waitPhase('ready', 15_000);

  const probe = await inPod(t, pod, ['probe']);
  t.equal(probe.code, 0, 'nile probe: ready');
  t.match(probe.stdout, /^ready[^\n]*\n$/, 'one line');
  t.ok(Buffer.byteLength(probe.stdout + probe.stderr) < maxProbeOutputBytes, `under the 10 KiB the kubelet keeps (${probe.stdout.length} bytes)`);
  loadsNone(t, 'nile probe', probe, [...heavy, ...configCode]);
  t.ok(probe.modules.some((m) => m.endsWith('/dist/src/control/client.cjs')), 'nile probe asked the agent over the socket');

  const json = await inPod(t, pod, ['probe', '--json']);
  t.same(JSON.parse(json.stdout), { ready: true, reason: probe.stdout.trim() }, 'nile probe --json: the same verdict');
  loadsNone(t, 'nile probe --json', json, [...heavy, ...configCode]);

  const status = await inPod(t, pod, ['status']);
  t.equal(status.code, 0, 'nile status answers');
  loadsNone(t, 'nile status', status, [...heavy, ...configCode]);

  const prestop = await inPod(t, pod, ['prestop']);
  t.equal(prestop.code, 0, 'nile prestop returns 0');
  t.equal(prestop.stdout, 'prestop: out of traffic\n', 'the agent took it out of traffic');
  loadsNone(t, 'nile prestop', prestop, [...heavy, ...configCode]);

  // The detector itself: `nile config` must be seen loading yaml and the config loader.
  const config = await inPod(t, pod, ['config']);
  t.equal(config.code, 0, 'nile config validates the pod config');
  t.ok(configCode.some(([, pattern]) => config.modules.some((m) => pattern.test(m))), `the recorder sees nile config load the config code (${config.modules.filter((m) => m.includes('/dist/')).join(', ')})`);
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
  t.match(down.stdout, /^not ready: no agent answering; /, 'and says so');
  t.ok(Buffer.byteLength(down.stdout) < 1024, 'in one short line');
});
