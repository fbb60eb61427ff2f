// A start that never ran (a command, workdir or user that is not there) or a start script that gave
// up at once: the doctor says why, exits 1 and shows the app's last output; nile exits as a shell would.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { Nile } from './helpers/nile.js';
import { tomcatBase, tomcatMissing } from './helpers/tomcat.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-spawn-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

interface Doctor {
  code: number | null;
  findings: Array<{ cause: string; summary: string }>;
  lastOutput: string[];
}

async function doctor(nile: Nile): Promise<Doctor> {
  const run = await nile.exec(['doctor', '--json'], 60_000);
  return { code: run.code, ...JSON.parse(run.stdout) };
}

/** Starts nile over the app, waits for the doctor's verdict, stops nile with SIGTERM: its exit status and the verdict. */
async function failedStart(t: Test, app: Record<string, unknown>): Promise<{ doctor: Doctor; text: string; exit: number | null }> {
  const nile = new Nile({ config: { project: 'spawn', type: 'worker', app } });
  t.teardown(() => nile.stop());
  await nile.waitPhase('failed', 20_000);
  await nile.waitLog((l) => l.msg.startsWith('doctor: ') || l.msg === 'doctor failed on the failure report', 'the doctor on the failure', 30_000).catch(() => undefined);
  const result = { doctor: await doctor(nile), text: (await nile.exec(['doctor'], 60_000)).stdout };
  nile.signal('SIGTERM');
  return { ...result, exit: (await nile.exited).code };
}

t.test('a command not on PATH: the doctor names the PATH searched, nile exits 127', async (t) => {
  const { doctor, exit } = await failedStart(t, { command: ['no-such-java-here', '-version'], env: { PATH: '/usr/local/bin:/usr/bin:/bin' } });
  t.equal(doctor.code, 1);
  t.equal(doctor.findings[0]!.cause, 'spawn-error');
  t.equal(doctor.findings[0]!.summary, 'the app could not be started: command "no-such-java-here" not found on PATH (/usr/local/bin:/usr/bin:/bin)');
  t.equal(exit, 127);
});

t.test('a file that is not executable: nile exits 126', async (t) => {
  const script = path.join(dir, 'start.sh');
  writeFileSync(script, '#!/bin/sh\necho never\n');
  chmodSync(script, 0o644);
  const { doctor, exit } = await failedStart(t, { command: [script] });
  t.equal(doctor.code, 1);
  t.equal(doctor.findings[0]!.summary, `the app could not be started: ${script} is not executable (permission denied)`);
  t.equal(exit, 126);
});

t.test('a workdir that does not exist', async (t) => {
  const { doctor, exit } = await failedStart(t, { command: ['sh', '-c', 'true'], workdir: '/no/such/workdir' });
  t.equal(doctor.code, 1);
  t.equal(doctor.findings[0]!.summary, 'the app could not be started: app.workdir /no/such/workdir does not exist');
  t.equal(exit, 127);
});

t.test('a user that does not exist', async (t) => {
  const { doctor, exit } = await failedStart(t, { command: ['sh', '-c', 'true'], user: 'no-such-user' });
  t.equal(doctor.code, 1);
  t.equal(doctor.findings[0]!.summary, 'the app could not be started: app.user: no user named "no-such-user" in /etc/passwd');
  t.equal(exit, 126);
});

t.test("Tomcat's catalina.sh with a wrong JAVA_HOME: the finding, and the app's last output", { skip: tomcatMissing }, async (t) => {
  const tomcat = await tomcatBase(dir, { port: 1 });
  const { doctor, text } = await failedStart(t, { ...tomcat.app, env: { ...(tomcat.app.env as object), JAVA_HOME: '/no/such/jdk' } });
  t.equal(doctor.code, 1);
  t.equal(doctor.findings[0]!.summary, 'JAVA_HOME does not point at a Java installation (JAVA_HOME=/no/such/jdk): the start script cannot find java');
  t.match(doctor.lastOutput, ['The JAVA_HOME environment variable is not defined correctly', 'JAVA_HOME=/no/such/jdk']);
  t.match(text, /the app's last output:\n  The JAVA_HOME environment variable is not defined correctly\n  JAVA_HOME=\/no\/such\/jdk\n/);
});
