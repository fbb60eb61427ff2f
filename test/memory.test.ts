import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { memoryCgroup, removeCgroup } from './helpers/cgroup.js';
import { FIXTURE_JAR, JAVA, Nile } from './helpers/nile.js';
import { NILE_NATIVE } from './helpers/paths.js';
import { freePort } from './helpers/ports.js';
import { settlesWithin, waitFor } from './helpers/wait.js';

// The memory watch in a pod whose cgroup has a memory limit (cgroup v1 here, as on this machine): the app's
// use is driven past 90 % of the limit (warning in the log, nile status and the metrics), then past the limit
// (the kernel OOM-kills the JVM, and the doctor quotes how close nile's last readings were).

const MiB = 1024 * 1024;
const { dir: cgroup, skip: cgroupSkip } = await memoryCgroup('nile-memory');

const usage = async () => Number(await readFile(path.join(cgroup, 'memory.usage_in_bytes'), 'utf8'));
async function setLimit(bytes: number): Promise<void> {
  // memsw first when lowering: it may never be below the memory limit.
  await writeFile(path.join(cgroup, 'memory.memsw.limit_in_bytes'), String(bytes)).catch(() => {});
  await writeFile(path.join(cgroup, 'memory.limit_in_bytes'), String(bytes));
  await writeFile(path.join(cgroup, 'memory.memsw.limit_in_bytes'), String(bytes)).catch(() => {});
}

t.test('past 90 % of the limit: one warning in the log, status and metrics; past the limit: the doctor quotes the last reading', { skip: cgroupSkip }, async (t) => {
  t.teardown(() => removeCgroup(cgroup));
  await setLimit(768 * MiB);
  await writeFile(path.join(cgroup, 'memory.swappiness'), '0').catch(() => {});
  const port = await freePort();
  const metricsPort = await freePort();
  const nile = new Nile({
    config: {
      project: 'memory',
      app: { command: [...JAVA, '-XX:MaxDirectMemorySize=1g', '-jar', FIXTURE_JAR, '--port', String(port)], restart: 'never', startTimeout: '60s' },
      probe: { http: { port }, interval: '500ms' },
      metrics: { port: metricsPort, listen: '127.0.0.1' },
    },
    cgroup,
  });
  t.teardown(() => nile.stop());
  await nile.waitPhase('ready', 60_000);

  // The limit is set from what the pod uses now: 160 MiB above it; the app then takes 8 MiB at a time
  // until the cgroup's use is past 92 % of it (a step cannot reach the limit).
  const before = await usage();
  const limit = before + 160 * MiB;
  await setLimit(limit);
  let taken = 0;
  for (let step = 0; step < 40 && (await usage()) < 0.92 * limit; step++) {
    t.equal((await fetch(`http://127.0.0.1:${port}/allocate?mb=8`)).status, 200, `the app takes 8 MiB more (use ${Math.round((await usage()) / MiB)} MiB of ${Math.round(limit / MiB)} MiB)`);
    taken += 8;
  }
  t.ok((await usage()) >= 0.9 * limit, `past 90 % after the app took ${taken} MiB`);

  const warning = await nile.waitLog((l) => l.msg.startsWith('memory: the container uses'), 'the memory warning', 15_000);
  t.match(warning.msg, /uses [\d.]+ MiB of [\d.]+ MiB \((9\d|100)(\.\d)? %\), above 90 % of its limit; the JVM's memory options: -Xmx64m -XX:MaxDirectMemorySize=1g$/, warning.msg);
  t.equal(warning.limitBytes, limit, 'with the limit in force');
  const status = await nile.exec(['status']);
  t.match(status.stdout, /^memory: [\d.]+ MiB of [\d.]+ MiB \([\d.]+ %\): WARNING above 90 % of the limit since /m, 'nile status shows it');
  const scraped = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  t.match(scraped, /^nile_container_memory_warning 1$/m, 'the metrics show it');
  t.match(scraped, new RegExp(`^nile_container_memory_limit_bytes ${limit}$`, 'm'), 'with the limit');
  const used = Number(/^nile_container_memory_usage_bytes (\d+)$/m.exec(scraped)?.[1]);
  t.ok(used / limit >= 0.9, `and the use (${Math.round((used / limit) * 100)} %)`);
  // Two more readings above the line, as status tells their times, and still the one warning.
  const readAt = async () => JSON.parse((await nile.execInPod([NILE_NATIVE, 'status', '--json'], 10_000)).stdout).memory?.readAt as string | undefined; // C: no Node in the cgroup
  const seen = new Set([await readAt()]);
  await waitFor('two more readings', async () => (seen.add(await readAt()), seen.size >= 3), 20_000, { everyMs: 500 });
  t.equal(nile.logs.filter((l) => l.msg.startsWith('memory: the container uses')).length, 1, 'one warning, not one a reading');

  // restart: never: the app's end is nile's, and the failure report it leaves holds the doctor's findings.
  void fetch(`http://127.0.0.1:${port}/allocate?mb=128`).catch(() => {});
  if (!t.ok(await settlesWithin(nile.exited, 30_000), 'nile ends with the app')) return;
  t.equal((await nile.exited).code, 137, 'with the status of a KILLed app');
  const report = JSON.parse(await readFile(path.join(nile.runDir, 'last-failure.json'), 'utf8'));
  const findings = report.findings as Array<{ cause: string; summary: string; evidence: string[] }>;
  const oom = findings.find((f) => f.cause === 'oom-killed');
  t.ok(oom, `an OOM-kill finding (got ${findings.map((f) => f.cause).join(', ')})`);
  t.match(oom?.summary, /\(nile's last reading: [\d.]+ MiB of [\d.]+ MiB \([\d.]+ %\)\)$/, String(oom?.summary)); // the kernel may reclaim below 90 % before the kill
  t.match(oom?.evidence.join('\n'), /nile's memory reading at .*: [\d.]+ MiB of/, 'the readings are in the evidence');
});
