import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { waitFor } from '../helpers/wait.js';
import { exampleNileConfig, startContainer } from './runc.js';

// The container killed whole while the app starts, under the real runtime: runDir on a host directory
// bind-mounted as the pod's emptyDir is, every process of the container killed at once (`runc kill
// --all … KILL`, what a cgroup v2 group OOM kill does), then a new container of the same image and
// spec on the same volume, as the kubelet restarts a container in its pod.

t.test('killed whole during the start: the next container on the same emptyDir holds the app back, the doctor explains, sv up starts it', async (t) => {
  // The emptyDir: a root-owned 0700 host directory (what runDir's rule accepts of a volume as root).
  const volume = mkdtempSync(path.join(os.tmpdir(), 'nile-oci-emptydir-'));
  t.teardown(() => rmSync(volume, { recursive: true, force: true }));
  const nile = exampleNileConfig();
  delete nile.registry;
  nile.sshd.enabled = false;
  nile.app.args = [...nile.app.args, '--ready-on', 'USR1']; // starting until the test says: killed in its start
  nile.probe.interval = '500ms';
  const spec = { nile, volumes: { '/run/nile': volume } };

  const first = await startContainer(t, { ...spec, name: 'killed-first' });
  const record = () => {
    try {
      return JSON.parse(readFileSync(path.join(volume, 'container-record.json'), 'utf8')) as { app: { phase: string }; memory: { readings: unknown[] }; output: string[] };
    } catch {
      return undefined;
    }
  };
  await waitFor('the record of the starting app, with a memory reading and its output, on the volume', () => {
    const r = record();
    return r?.app.phase === 'starting' && r.memory.readings.length > 0 && r.output.some((l) => l.startsWith('fixture starting'));
  }, 60_000);
  first.kill('KILL', { all: true });
  const exited = await first.exited;
  t.equal(exited.code, 137, 'the container died of KILL: nile did not exit');
  t.same(first.processes(), [], 'nothing of it is left');

  const second = await startContainer(t, { ...spec, name: 'killed-second' });
  await second.waitLog('the app failed at once', (l) => l.msg === 'app failed', 60_000);
  t.notOk(second.logs().some((l) => l.msg === 'app started'), 'the app was not started into the same death');
  t.notOk(second.processes().some((p) => p.comm === 'java'), 'no JVM runs');
  const probe = await second.exec(['nile', 'probe'], { timeoutMs: 10_000 });
  t.equal(probe.code, 1, 'not ready');
  t.match(probe.stdout, /^not ready: the previous container was killed while the app was starting; memory was \d+ % of the limit at the last reading; nile sv up app starts it \(nile status has the report\)\n$/, probe.stdout.trim());

  await second.waitLog("the doctor's look at the held start", (l) => l.msg.startsWith('doctor: '), 60_000);
  const doctor = await second.exec(['nile', 'doctor'], { timeoutMs: 60_000 });
  t.equal(doctor.code, 1, 'nile doctor exits 1');
  t.match(doctor.stdout, /^1\. the previous container was killed while the app was starting/m, 'the doctor names the kill first');
  t.match(doctor.stdout, /\/run\/nile\/container-record\.json: the app was starting \(pid \d+\) since \S+; nile's last record at \S+; nile did not exit/, 'quoting the record on the volume');
  t.match(doctor.stdout, /nile's memory reading at \S+: [\d.]+ MiB of 768 MiB/, "with nile's memory readings against the limit");
  t.match(doctor.stdout, /^ {2}fixture starting pid=\d+$/m, "and the app's last output, from the killed container");

  const up = await second.exec(['nile', 'sv', 'up', 'app'], { timeoutMs: 10_000 });
  t.equal(up.code, 0, `nile sv up app: ${up.stdout}${up.stderr}`);
  // The operator's start: starting (the JVM answers 503) until the test lets it be ready.
  const starting = await waitFor('the JVM answering 503 to the probe', async () => {
    const p = await second.exec(['nile', 'probe'], { timeoutMs: 10_000 });
    return /^not ready: starting for .*\(http 503 /.test(p.stdout) && p.stdout;
  }, 60_000, { everyMs: 300 });
  t.pass(`started by sv up: ${starting.trim()}`);
  t.notOk(second.logs().some((l) => l.msg === 'app ready'), 'not ready before the JVM is');
  second.signalJava('SIGUSR1');
  await second.waitLog('the app ready', (l) => l.msg === 'app ready', 60_000);
  t.ok(second.lines.some((l) => l.text.startsWith('fixture ready after')), 'ready once the JVM was');
  t.equal(second.logs().filter((l) => l.msg === 'app started').length, 1, 'started once, by the operator');
  t.equal((await second.exec(['nile', 'probe'], { timeoutMs: 10_000 })).code, 0, 'ready');
});
