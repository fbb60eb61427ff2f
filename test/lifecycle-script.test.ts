// The app as many teams start it: `sh start.sh`, whose body runs `java …` as a child (no `exec`).
// Each case runs under dash and bash with the fixture JVM.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { freePort } from './helpers/ports.js';
import { fixtureCommand, Nile } from './helpers/nile.js';
import { alive, childrenOf, readComm } from './helpers/proc.js';

const shells = ['dash', 'bash'] as const;

/** A start script in a fresh directory: `lines` around a `java …` line that is not exec'd. */
function startScript(t: Test, lines: string[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-script-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'start.sh');
  writeFileSync(file, ['echo "script: starting java"', ...lines, ''].join('\n'));
  return file;
}

const javaLine = (...args: string[]) => fixtureCommand(...args).join(' ');

function scriptNile(t: Test, shell: string, script: string, port: number, app: Record<string, unknown> = {}): Nile {
  const nile = new Nile({
    door: 'node',
    config: {
      project: 'script',
      type: 'web',
      app: { command: [shell, script], startTimeout: '60s', stopTimeout: '30s', ...app },
      probe: { http: { port }, interval: '200ms' },
      prestop: { wait: '100ms' },
    },
  });
  t.teardown(() => nile.stop());
  return nile;
}

/** The JVM's pid inside nile's namespace, as the fixture prints it. */
async function jvmPid(nile: Nile): Promise<number> {
  const line = await nile.waitFor('the fixture printed its pid', () => nile.stdout.find((l) => l.startsWith('fixture starting pid=')), 30_000);
  return Number(line.slice('fixture starting pid='.length));
}

for (const shell of shells) {
  t.test(`${shell}: a script running java becomes ready; status names the JVM, the doctor says to exec java`, async (t) => {
    const port = await freePort();
    const nile = scriptNile(t, shell, startScript(t, [javaLine('--port', String(port), '--ready-after', '300')]), port);
    const jvm = await jvmPid(nile);
    await nile.waitPhase('ready', 30_000);
    const status = JSON.parse((await nile.exec(['status', '--json'])).stdout);
    t.equal(status.app.phase, 'ready');
    t.same(status.app.jvms, [jvm], "status --json names the JVM's pid");
    t.not(status.app.pid, jvm, 'the app is the shell');
    const text = (await nile.exec(['status'])).stdout;
    t.match(text, new RegExp(`app: ready \\(pid ${status.app.pid}, JVM pid ${jvm}\\)`), 'the status line names it too');
    const doctor = JSON.parse((await nile.exec(['doctor', '--json'])).stdout);
    const finding = doctor.findings.find((f: { cause: string }) => f.cause === 'start-script');
    t.ok(finding, 'the doctor has a finding about the start script');
    t.match(finding?.summary, /runs java as a child .*`exec java/, finding?.summary);
  });

  t.test(`${shell}: TERM reaches the JVM at once, its shutdown hook runs, nile waits for it and exits with the script's status`, async (t) => {
    const port = await freePort();
    // The script's trap runs only once java has ended (a shell defers traps during a foreground job):
    // TERM to the shell alone would leave the JVM running until KILL.
    const script = startScript(t, [`trap 'echo "script: got TERM"; exit 143' TERM`, javaLine('--port', String(port), '--on-term', 'shutdown:143', '--hook-ms', '300')]);
    const nile = scriptNile(t, shell, script, port);
    await nile.waitPhase('ready', 30_000);
    nile.signal('SIGTERM');
    const exit = await nile.exited;
    t.ok(nile.stdout.includes('fixture shutdown hook ran'), "the JVM's shutdown hook ran");
    t.ok(nile.stdout.includes('script: got TERM'), "then the script's trap");
    t.equal(exit.code, 143, 'nile exits with the script status: no KILL was needed');
  });

  t.test(`${shell}: a script without a trap: the JVM is stopped with the shell, not found later as a leftover`, async (t) => {
    const port = await freePort();
    const script = startScript(t, [javaLine('--port', String(port), '--on-term', 'shutdown:143', '--hook-ms', '300')]);
    const nile = scriptNile(t, shell, script, port);
    await nile.waitPhase('ready', 30_000);
    nile.signal('SIGTERM');
    const exit = await nile.exited;
    t.ok(nile.stdout.includes('fixture shutdown hook ran'), "the JVM's shutdown hook ran");
    t.notOk(nile.logs.some((l) => l.msg === 'stopping processes the app left behind'), 'the JVM was waited for as the app, not stopped as a leftover');
    t.equal(exit.code, 143, 'the shell died of TERM: 128 + 15');
  });

  t.test(`${shell}: a start timeout dumps the JVM behind the script; the shell and the JVM are kept`, async (t) => {
    const port = await freePort();
    const nile = scriptNile(t, shell, startScript(t, [javaLine('--port', String(port), '--never-ready')]), port, { startTimeout: '3s' });
    await jvmPid(nile);
    await nile.waitPhase('failed', 30_000);
    const report = await nile.waitThreadDump(20_000);
    const dump = readFileSync(report.threadDumpFile, 'utf8');
    t.match(dump, /Full thread dump/, 'the dump is there');
    t.match(dump, /"main".*\n\s+java.lang.Thread.State: BLOCKED/, 'whole: main blocked on its lock');
    t.match(dump, /Heap\n/, 'to the heap summary at its end');
    const [shellPid] = childrenOf(nile.hostPid()).filter((pid) => readComm(pid) === shell);
    t.ok(shellPid && alive(shellPid), 'the shell is kept');
    const java = shellPid ? childrenOf(shellPid).find((pid) => readComm(pid) === 'java') : undefined;
    t.ok(java && alive(java), 'the JVM is kept, still its child');
    const probe = await nile.exec(['probe']);
    t.match(probe.stdout, /not ready: startup failed: not ready within 3\.0s \(thread dump taken, app left running\)/);
  });

  t.test(`${shell}: a JVM that dies behind a script that then exits 0 is a crash`, async (t) => {
    const port = await freePort();
    const script = startScript(t, [javaLine('--port', String(port), '--exit-after', '2500', '--exit-code', '3'), 'echo "script: java ended"']);
    const nile = scriptNile(t, shell, script, port, { restart: 'never' });
    const jvm = await jvmPid(nile);
    await nile.waitPhase('ready', 30_000);
    const crashed = await nile.waitLog((l) => l.msg.startsWith('app crashed'), 'the crash logged', 30_000);
    t.match(crashed.msg, new RegExp(`app crashed: its JVM \\(pid ${jvm}\\) ended under the start script, which then exited with status 0`), crashed.msg);
    const report = JSON.parse(readFileSync(path.join(nile.runDir, 'last-failure.json'), 'utf8'));
    t.equal(report.kind, 'crashed');
    t.equal(report.jvmEnded, jvm, 'the report names the JVM that ended');
    const exit = await nile.exited; // restart: never: the app's end is nile's
    t.equal(exit.code, 1, 'nile does not exit 0 after its JVM crashed under the script');
  });
}

t.test('a start timeout with no JVM behind the app sends no QUIT and does not claim a thread dump', async (t) => {
  const port = await freePort();
  const nile = scriptNile(t, 'dash', startScript(t, ['sleep 600']), port, { startTimeout: '2s' });
  await nile.waitPhase('failed', 30_000);
  const line = await nile.waitFor('the reason', async () => {
    const probe = await nile.exec(['probe']);
    return /no JVM/.test(probe.stdout) && probe.stdout;
  }, 20_000);
  t.notMatch(line, /thread dump taken/, line);
  t.match(line, /no thread dump: no JVM found behind the app/, line);
  const [shellPid] = childrenOf(nile.hostPid()).filter((pid) => readComm(pid) === 'dash');
  t.ok(shellPid && alive(shellPid), 'the app is left running');
});

t.test('a process named java that prints nothing on SIGQUIT: the reason does not claim a thread dump', async (t) => {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-mute-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const java = path.join(dir, 'java'); // sleep under the JVM's name: found as the JVM, and QUIT ends it without a word
  copyFileSync('/usr/bin/sleep', java);
  const nile = scriptNile(t, 'dash', startScript(t, [`${java} 600`]), port, { startTimeout: '2s' });
  const noDump = await nile.waitLog((l) => l.msg.startsWith('no thread dump'), 'the dump found empty', 30_000);
  t.match(noDump.msg, /^no thread dump: the JVM \(pid \d+\) printed (nothing|none) on SIGQUIT/, 'the shell\'s "Quit" is no dump');
  // The report on disk is rewritten after the log line, as the mute JVM ends: its last word counts.
  const lastReport = () => JSON.parse(readFileSync(path.join(nile.runDir, 'last-failure.json'), 'utf8'));
  const report = await nile.waitFor('a report that claims no dump', () => !/thread dump taken/.test(lastReport().reason) && lastReport(), 10_000).catch(() => lastReport());
  t.notMatch(report.reason, /thread dump taken/, report.reason);
  t.notOk(report.threadDumpFile, 'no dump file named');
  t.notOk(existsSync(path.join(nile.runDir, 'thread-dump.txt')), 'nor a thread-dump.txt left holding what is no dump');
  const status = await nile.exec(['status']);
  t.notMatch(status.stdout, /thread dump taken/, 'nor does nile status');
});
