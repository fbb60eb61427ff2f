import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { memoryCgroup, removeCgroup } from './helpers/cgroup.js';
import { fixtureCommand, Nile } from './helpers/nile.js';
import { freePort } from './helpers/ports.js';
import { waitFor } from './helpers/wait.js';

// The container killed whole, on the host: nile as PID 1 of a PID namespace, killed (the kernel then
// kills every process of the namespace, as a group OOM kill takes every process of a container),
// then a new nile on the same runDir, as the kubelet restarts the container on the pod's emptyDir.

const { dir: cgroup, skip: noCgroup } = await memoryCgroup('nile-killed');
if (!noCgroup) {
  t.teardown(() => removeCgroup(cgroup));
  writeFileSync(path.join(cgroup, 'memory.limit_in_bytes'), String(4 * 1024 ** 3)); // a limit, for the readings to be measured against
}

/** The pod's emptyDir: runDir for every container of the pod (root-owned, 0700). */
function emptyDir(t: Test): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-emptydir-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'run');
}

interface Record {
  app: { phase: string };
  memory: { readings: unknown[] };
  output: string[];
  held: unknown;
}
const readRecord = (runDir: string): Record | undefined => {
  try {
    return JSON.parse(readFileSync(path.join(runDir, 'container-record.json'), 'utf8'));
  } catch {
    return undefined;
  }
};

function container(t: Test, runDir: string, port: number, readyAfter: number, metricsPort?: number): Nile {
  const nile = new Nile({
    config: {
      project: 'killed',
      type: 'web',
      runDir,
      app: { command: fixtureCommand('--port', String(port), '--ready-after', String(readyAfter)), startTimeout: '10m' },
      probe: { http: { port }, interval: '300ms' },
      ...(metricsPort ? { metrics: { port: metricsPort, listen: '127.0.0.1' } } : {}),
    },
    cgroup: noCgroup ? undefined : cgroup,
  });
  t.teardown(() => nile.stop());
  return nile;
}

// The whole namespace dies with its PID 1; the app's JVM goes with it.
async function killWhole(nile: Nile): Promise<void> {
  const app = nile.appHostPid();
  nile.signal('SIGKILL');
  await nile.exited;
  await waitFor('the JVM gone with the container', () => app === null || !isAlive(app), 10_000);
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// A first container of the pod whose app became ready, then killed whole.
async function killedAfterReady(t: Test): Promise<{ runDir: string; port: number }> {
  const runDir = emptyDir(t);
  const port = await freePort();
  const first = container(t, runDir, port, 0);
  await waitFor('the record of a ready app', () => readRecord(runDir)?.app.phase === 'ready', 60_000);
  await killWhole(first);
  return { runDir, port };
}

t.test('killed while the app was starting: the next container holds it back with the reason, the doctor explains, killed again it holds again, sv up starts it', async (t) => {
  const runDir = emptyDir(t);
  const port = await freePort();
  const first = container(t, runDir, port, 600_000); // never ready while this container lives
  await waitFor('the record of a starting app, with a memory reading and its output', () => {
    const r = readRecord(runDir);
    return r?.app.phase === 'starting' && r.memory.readings.length > 0 && r.output.some((l) => l.startsWith('fixture starting'));
  }, 30_000);
  await killWhole(first);

  const second = container(t, runDir, port, 0);
  const env = { NILE_RUNDIR: runDir };
  const failed = await second.waitPhase('failed', 30_000);
  t.ok(failed, 'the app is failed at once, not started');
  t.notOk(second.logs.some((l) => l.msg === 'app started'), 'the app was not started into the same death');
  const probe = await second.exec(['probe'], 15_000, env);
  t.equal(probe.code, 1, 'not ready');
  t.match(probe.stdout, /^not ready: the previous container was killed while the app was starting; memory was \d+ (%|MiB) .*at the last reading.*; nile sv up app starts it/, probe.stdout.trim());

  const status = await second.exec(['status'], 15_000, env);
  t.match(status.stdout, /^last failure at .*: the previous container was killed while the app was starting/m, 'nile status has the report');
  t.match(status.stdout, /^ {4}fixture starting pid=\d+$/m, "with the app's last output, kept from the killed container");
  const doctor = await second.exec(['doctor', '--json'], 30_000, env);
  t.equal(doctor.code, 1, 'nile doctor exits 1');
  const findings = JSON.parse(doctor.stdout).findings as Array<{ cause: string; summary: string; evidence: string[] }>;
  t.match(findings[0], { cause: /^container-(oom-)?killed$/, summary: /^the previous container was killed while the app was starting/ }, 'the headline names the kill');
  t.match(findings[0]!.evidence.join('\n'), new RegExp(`${runDir}/container-record.json: the app was starting \\(pid \\d+\\) since .*; nile did not exit`), 'quoting the record');
  t.match(findings[0]!.evidence.join('\n'), /nile's memory reading at .*: [\d.]+ MiB/, 'and the memory readings');

  // Killed again while holding: the next one holds too, for the first kill.
  await waitFor('the record of the held app', () => readRecord(runDir)?.held, 10_000);
  await killWhole(second);
  const third = container(t, runDir, port, 0);
  await third.waitPhase('failed', 30_000);
  t.notOk(third.logs.some((l) => l.msg === 'app started'), 'held again');
  t.equal((await third.exec(['probe'], 15_000, env)).stdout, probe.stdout, 'with the same reason');

  const up = await third.exec(['sv', 'up', 'app'], 15_000, env);
  t.equal(up.code, 0, `nile sv up app: ${up.stdout}${up.stderr}`);
  await third.waitPhase('ready', 60_000);
  t.equal(third.logs.filter((l) => l.msg === 'app started').length, 1, 'started once, by the operator');
  t.equal((await third.exec(['probe'], 15_000, env)).code, 0, 'ready');
  await waitFor('the record of the ready app, no longer held', () => readRecord(runDir)?.app.phase === 'ready' && readRecord(runDir)?.held === null, 10_000);
});

t.test('killed after the app was ready: the next container starts it as usual, and status, doctor and metrics name the end', async (t) => {
  const { runDir, port } = await killedAfterReady(t);

  const metricsPort = await freePort();
  const second = container(t, runDir, port, 0, metricsPort);
  const env = { NILE_RUNDIR: runDir };
  await second.waitPhase('ready', 60_000);
  await second.waitAnswering(30_000);
  const status = await second.exec(['status'], 15_000, env);
  t.match(status.stdout, /^previous container: killed after the app was ready \(last record at \S+; memory was .* at the last reading\)$/m, 'nile status names the end');
  const doctor = await second.exec(['doctor', '--json'], 30_000, env);
  const killed = (JSON.parse(doctor.stdout).findings as Array<{ cause: string; summary: string; note?: boolean }>).find((f) => f.cause.startsWith('container-'));
  t.match(killed?.summary, /^the previous container was killed after the app was ready/, 'nile doctor names it');
  t.equal(killed?.note, true, 'as a note: history, nothing wrong now');
  t.equal(doctor.code, 0, `the app is healthy now: nile doctor exits 0 (${doctor.stdout})`);
  const text = await second.exec(['doctor'], 30_000, env);
  t.equal(text.code, 0, 'in text too');
  t.match(text.stdout, /^nothing wrong now \(app ready\); 1 note:\n1\. the previous container was killed after the app was ready.*\[container-(oom-)?killed, note\]$/m, text.stdout);
  const metrics = await waitFor('the metrics', () => fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text(), () => undefined), 20_000);
  t.match(metrics, /^nile_previous_container_killed\{phase="ready"\} 1$/m, 'and a metric');
});

t.test('killed after the app was ready, and the app not Ready now: the note does not hide that, the doctor exits 1', async (t) => {
  const { runDir, port } = await killedAfterReady(t);

  const second = container(t, runDir, port, 600_000); // starting, never ready while this container lives
  const env = { NILE_RUNDIR: runDir };
  await waitFor('the record of the starting app', () => readRecord(runDir)?.app.phase === 'starting', 30_000);
  // The app is spawned before the agent listens: the doctor is to ask the agent, not read runDir alone.
  await second.waitAnswering(30_000);
  const doctor = await second.exec(['doctor', '--json'], 30_000, env);
  const findings = JSON.parse(doctor.stdout).findings as Array<{ cause: string; note?: boolean }>;
  t.match(findings.find((f) => f.cause.startsWith('container-')), { note: true }, 'the kill, as a note');
  t.ok(findings.some((f) => f.cause === 'not-ready' && !f.note), `and the pod not Ready, as a finding (${doctor.stdout})`);
  t.equal(doctor.code, 1, 'nile doctor exits 1');
});
