import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { cleanEnv } from './helpers/nile.js';
import { NILE_BIN } from './helpers/paths.js';
import { serveHttp } from './helpers/ports.js';

// The kubelet's and the operator's commands when no agent answers: `nile prestop` waits
// prestop.wait and returns 0; `nile doctor` says it could not reach the agent and exits 1.

const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-no-agent-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
chmodSync(dir, 0o755);
const runDir = path.join(dir, 'run');
mkdirSync(runDir, { mode: 0o700 }); // root's, as the agent makes it: another user cannot reach in
const configFile = path.join(dir, 'nile.yaml');
writeFileSync(configFile, `project: no-agent\nrunDir: ${runDir}\napp:\n  command: [sleep, '1']\nprestop:\n  wait: 300ms\n`, { mode: 0o644 });

const nile = (args: string[], uid?: number) =>
  spawnSync(process.execPath, [NILE_BIN, ...args], { env: { ...cleanEnv(), NILE_CONFIG: configFile }, encoding: 'utf8', timeout: 20_000, uid });

t.test('nile prestop with no agent waits prestop.wait and returns 0', async (t) => {
  const run = nile(['prestop']);
  t.equal(run.status, 0, `exit 0 (${run.stderr.trim()})`);
  t.match(run.stdout, /^prestop: no agent answering \(.+\); waited 300ms\n$/, 'says no agent answered and how long it waited');
});

t.test('nile doctor with no agent running says it could not reach the agent, exit 1', async (t) => {
  const run = nile(['doctor']);
  t.equal(run.status, 1, 'exit 1, not 0');
  t.match(run.stderr, /could not reach the agent \(connect ENOENT .*control\.sock\)/, `says so (${run.stderr.trim()})`);
  t.notMatch(run.stdout, /app no agent answering/, 'and no "app" phase it did not see');
});

t.test('nile doctor as a user who cannot reach the socket says so, exit 1', async (t) => {
  const run = nile(['doctor'], 65534);
  t.equal(run.status, 1, 'exit 1, not 0');
  t.match(run.stderr, /^nile doctor: could not reach the agent \((connect|runDir \S+:) EACCES[^\n]*\n$/, `says so, and nothing else on stderr (${run.stderr.trim()})`);
});

// Ready means the probe passed, the online calls succeeded and the registration is in place (SPEC): with
// no agent, nothing made the calls or the registration, so an app answering its health check is not enough.
t.test('nile probe with no agent: the app answering is ready only when nothing else is needed for Ready', async (t) => {
  const url = new URL(await serveHttp(t, (_req, res) => res.end('ok')));
  const probeOnly = `probe:\n  http:\n    enabled: true\n    port: ${url.port}\n    path: /healthcheck\n`;
  const cases = {
    'the probe alone': { extra: '', ready: true },
    'a ZooKeeper registry': { extra: 'registry:\n  port: 8080\n  upstream: web\n  zookeeper:\n    connect: 127.0.0.1:1\n', ready: false },
    'a Consul registry': { extra: 'registry:\n  port: 8080\n  upstream: web\n  consul:\n    url: http://127.0.0.1:1\n', ready: false },
    'online calls': { extra: 'online:\n  - name: gateway\n    url: http://127.0.0.1:1/online\n', ready: false },
  };
  for (const [what, { extra, ready }] of Object.entries(cases)) {
    const file = path.join(dir, `probe-${what.replace(/\W+/g, '-')}.yaml`);
    writeFileSync(file, `project: no-agent\nrunDir: ${runDir}\napp:\n  command: [sleep, '1']\n${probeOnly}${extra}`, { mode: 0o644 });
    // Not spawnSync: the app's health check is served by this process.
    const run = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, [NILE_BIN, 'probe'], { env: { ...cleanEnv(), NILE_CONFIG: file }, encoding: 'utf8', timeout: 20_000 }, (err, stdout, stderr) =>
        resolve({ status: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
      ),
    );
    t.equal(run.status, ready ? 0 : 1, `${what}: exit ${ready ? 0 : 1} (${run.stdout.trim()}${run.stderr.trim()})`);
    t.match(run.stdout, ready ? /^ready: no agent answering; http 200/ : /^not ready: no agent answering to make the (registration|online calls)\n$/, `${what}: the line says why`);
  }
});
