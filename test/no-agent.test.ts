import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { cleanEnv } from './helpers/nile.js';
import { NILE_BIN } from './helpers/paths.js';

// The kubelet's and the operator's commands when no agent answers: `nile prestop` waits
// prestop.wait and returns 0; `nile doctor` says it could not reach the agent and exits 1.

const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-no-agent-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
chmodSync(dir, 0o755);
const runDir = path.join(dir, 'run');
mkdirSync(runDir, { mode: 0o700 }); // root's, as the agent makes it: another user cannot reach in
const configFile = path.join(dir, 'nile.yaml');
writeFileSync(configFile, `project: no-agent\nrunDir: ${runDir}\napp:\n  command: [sleep, '1']\nprestop:\n  wait: 300ms\n`, { mode: 0o644 });

// `env -u`: tap's spawn hook puts its process info (which another user cannot write) back in NODE_OPTIONS.
const nile = (args: string[], uid?: number) =>
  spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, NILE_BIN, ...args], { env: { ...cleanEnv(), NILE_CONFIG: configFile }, encoding: 'utf8', timeout: 20_000, uid });

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
  t.match(run.stderr, /^nile doctor: could not reach the agent \(connect EACCES [^\n]*\n$/, `says so, and nothing else on stderr (${run.stderr.trim()})`);
});
