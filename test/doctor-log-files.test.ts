import t from 'tap';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, truncateSync, appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { diagnose } from '../src/doctor/diagnose.js';
import { settlesWithin } from './helpers/wait.js';

// app.logFiles are where the app's user writes: whatever it puts there, the doctor reads regular
// files only, never through a link, only what that user could read, a bounded tail, in bounded time.

const dir = t.testdir({});
const rootOnly = path.join(dir, 'root-only');
mkdirSync(rootOnly);
const shadow = path.join(rootOnly, 'shadow.log');
writeFileSync(shadow, 'java.lang.OutOfMemoryError: ROOT-ONLY-9191\n');
chmodSync(shadow, 0o600);
chmodSync(rootOnly, 0o700);

const quoted = (findings: Awaited<ReturnType<typeof diagnose>>) => JSON.stringify(findings);

t.test('a FIFO among the log files: the doctor answers, saying it is no regular file', async (t) => {
  const fifo = path.join(dir, 'app.log.fifo');
  execFileSync('mkfifo', [fifo]);
  const diagnosis = diagnose({ outputLines: ['started'], logFiles: [fifo] });
  t.ok(await settlesWithin(diagnosis, 20_000), 'the doctor answers');
  t.match(quoted(await diagnosis), /not a regular file/, 'and says why the file was not read');
});

t.test('a symlink to a root-only file is not followed', async (t) => {
  const link = path.join(dir, 'app.log');
  symlinkSync(shadow, link);
  const findings = await diagnose({ outputLines: ['started'], logFiles: [link] });
  t.notMatch(quoted(findings), /ROOT-ONLY-9191/, 'the file behind the link is not quoted');
  t.match(quoted(findings), /symbolic link: not followed/);
});

t.test("a folder above the log that leads elsewhere: only what the app's user could read is read", async (t) => {
  const logs = path.join(dir, 'logs');
  symlinkSync(rootOnly, logs);
  const findings = await diagnose({ outputLines: ['started'], logFiles: [path.join(logs, 'shadow.log')], appUser: '65534' });
  t.notMatch(quoted(findings), /ROOT-ONLY-9191/, 'the root-only file is not quoted');
  t.match(quoted(findings), /cannot be read by the app's user \(uid 65534\)/);
  const own = await diagnose({ outputLines: ['started'], logFiles: [path.join(logs, 'shadow.log')] });
  t.match(quoted(own), /ROOT-ONLY-9191/, "without app.user the app runs as nile's user and may read it itself");
});

t.test('a huge log: its last 4 MiB are read', async (t) => {
  const huge = path.join(dir, 'huge.log');
  writeFileSync(huge, 'java.lang.OutOfMemoryError: at the start\n');
  truncateSync(huge, 8 * 1024 ** 3); // 8 GiB, sparse
  appendFileSync(huge, '\njava.net.BindException: Address already in use at the end\n');
  const findings = await diagnose({ outputLines: ['started'], logFiles: [huge] });
  t.match(quoted(findings), /Address already in use at the end/, 'the end is read');
  t.notMatch(quoted(findings), /at the start/, 'the start is not');
});
