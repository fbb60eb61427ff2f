// The kept scene of a real Java server that does not become ready in time: Debian's tomcat10 with
// 2,000 request threads, probed on a path it does not serve (404).
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Nile } from './helpers/nile.js';
import { freePort } from './helpers/ports.js';
import { alive } from './helpers/proc.js';
import { tomcatBase, tomcatMissing } from './helpers/tomcat.js';

const threads = 2000;

t.test(`a Tomcat with ${threads} threads that never answers its probe, then does`, { skip: tomcatMissing }, async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nile-tomcat-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  const tomcat = await tomcatBase(dir, { port, threads });
  const nile = new Nile({
    door: 'node',
    config: { project: 'tomcat', type: 'web', app: { ...tomcat.app, startTimeout: '15s' }, probe: { http: { port, path: '/healthcheck' }, interval: '500ms' } },
  });
  t.teardown(() => nile.stop());
  await nile.waitLog((l) => l.msg.startsWith('doctor: '), 'the doctor on the timed-out start', 90_000);
  const pid = nile.appHostPid();

  t.test('the whole thread dump is kept in its own file, named by the report', async (t) => {
    const report = JSON.parse(readFileSync(path.join(nile.runDir, 'last-failure.json'), 'utf8'));
    t.equal(report.kind, 'timeout');
    t.equal(report.threadDumpFile, path.join(nile.runDir, 'thread-dump.txt'));
    t.equal(statSync(report.threadDumpFile).mode & 0o777, 0o600, 'mode 0600');
    t.equal(statSync(path.join(nile.runDir, 'last-failure.json')).mode & 0o777, 0o600, 'the report too');
    const dump = readFileSync(report.threadDumpFile, 'utf8');
    t.ok(dump.length > 2_000_000, `${dump.length} bytes`);
    t.match(dump, /^Full thread dump OpenJDK/m, 'from its header');
    t.match(dump, /^"main" #1 /m);
    const pool = new Set(dump.match(/^"catalina-exec-\d+"/gm));
    t.ok(pool.size >= threads, `every request thread is in it (${pool.size})`);
    t.match(dump, /^JNI global refs: .*\n\nHeap\n[\s\S]*Metaspace.*\n.*class space/m, 'to its end');
  });

  t.test('the JVM is left running', async (t) => {
    t.ok(pid !== null && alive(pid), 'the JVM is still there');
  });

  t.test("the doctor's headline names what the probe saw and where main waits", async (t) => {
    const run = await nile.exec(['doctor', '--json'], 60_000);
    t.equal(run.code, 1);
    const { findings } = JSON.parse(run.stdout) as { findings: Array<{ cause: string; summary: string }> };
    t.equal(findings[0]!.cause, 'start-timeout', JSON.stringify(findings.map((f) => f.summary)));
    t.match(findings[0]!.summary, /the probe got http 404 \/healthcheck /);
    t.match(findings[0]!.summary, /main is sleeping in org\.apache\.catalina\.core\.StandardServer\.await/);
    t.match(findings[0]!.summary, new RegExp(`${threads} threads "catalina-exec-\\*" parked waiting in org\\.apache\\.tomcat\\.util\\.threads\\.TaskQueue\\.take`));
    t.match((await nile.exec(['probe'])).stdout, /^not ready: startup failed: not ready within 15\.0s .*; the start timed out: the probe got http 404 /, 'the probe line says it too');
  });

  t.test('once it answers, status says what to do, and nile sv up app makes it ready without a restart', async (t) => {
    writeFileSync(path.join(tomcat.root, 'healthcheck'), 'ok\n');
    const status = await nile.waitFor('status to see the probe pass', async () => {
      const out = (await nile.exec(['status'])).stdout;
      return /probe: ok/.test(out) && out;
    }, 30_000);
    t.match(status.split('\n')[0], /^not ready: startup failed: .*the app answers its probe now .*: nile sv up app resumes it/, 'failed, with what the operator can do');
    const started = nile.logs.filter((l) => l.msg === 'app started').length;
    const asked = Date.now();
    const up = await nile.exec(['sv', 'up', 'app']);
    t.equal(up.code, 0, up.stdout + up.stderr);
    await nile.waitPhase('ready', 30_000, asked);
    t.equal((await nile.exec(['probe'])).code, 0, 'ready');
    t.equal(nile.logs.filter((l) => l.msg === 'app started').length, started, 'not started again');
    t.equal(nile.appHostPid(), pid, 'the same JVM');
  });
});
