import t from 'tap';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fixtureCommand, Nile } from './helpers/nile.js';
import { freePort } from './helpers/ports.js';
import { threadDumpMaxBytes } from '../src/app/thread-dump.js';

// An app that prints hundreds of MiB after the thread dump's SIGQUIT: the capture keeps a bounded
// part of it, redacted line by line, the agent's memory stays small, and the doctor reads the dump.

const secret = 's3cr3t-flood-8181';
const floodMiB = 600; // past the longest string V8 makes (512 MiB): the whole-file redaction failed on it

t.test('a flood after SIGQUIT: the kept dump is bounded, redacted and read by the doctor; the agent stays small', async (t) => {
  const port = await freePort();
  const [java, ...javaArgs] = fixtureCommand('--port', String(port), '--never-ready', '--flood-after-quit', String(floodMiB));
  const nile = new Nile({
    door: 'node',
    config: {
      project: 'flood',
      app: { command: [java, `-Dflood.secret=${secret}`, ...javaArgs], startTimeout: '3s' },
      probe: { http: { port }, interval: '200ms' },
    },
    dropStdout: true,
  });
  t.teardown(() => nile.stop());
  await nile.waitLog((l) => l.msg.startsWith('doctor:'), "the doctor's look at the failure", 120_000);
  const file = path.join(nile.runDir, 'thread-dump.txt');
  const size = statSync(file).size;
  t.ok(size <= threadDumpMaxBytes + 4096, `thread-dump.txt is ${size} bytes, within the bound of ${threadDumpMaxBytes}`);
  const kept = readFileSync(file);
  const head = kept.subarray(0, 2 ** 20).toString();
  t.match(head, /^Full thread dump/m, 'it holds the dump');
  t.match(head, /"holder of \*\*\*"/, 'with the secret in the thread name blanked');
  t.notOk(kept.includes(secret), 'and no secret anywhere in it');
  t.match(kept.subarray(-4096).toString(), /not kept/, 'it says the rest was not kept');
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${nile.hostPid()}/status`, 'utf8'))?.[1]) * 1024;
  t.comment(`agent peak RSS ${(hwm / 2 ** 20).toFixed(1)} MiB after a ${floodMiB} MiB flood`);
  t.ok(hwm < 256 * 2 ** 20, `the agent's peak RSS (${(hwm / 2 ** 20).toFixed(1)} MiB) stays under 256 MiB`);
  const doctor = await nile.exec(['doctor'], 60_000);
  t.match(doctor.stdout, /the start timed out: .*main is blocked on a lock/, 'nile doctor reads the dump');
  t.match(doctor.stdout, /"main" BLOCKED .* held by "config-loader"/, 'with its threads as evidence');
  t.notOk(doctor.stdout.includes(secret), 'and shows no secret');
});
