// The classpath scan of a 100 MB fat jar finds what it must; its speed (under 2 s: it runs while a failed app
// waits) is the doctor row of `make bench`, only printed here.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { findClasspathConflicts } from '../src/doctor/classpath.js';
import { buildBigFatJar } from './helpers/jars.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'nile-doctor-bench-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

t.test('a ~100 MB fat jar of 200 nested jars and 60,000 classes is scanned for conflicts', async (t) => {
  const jar = await buildBigFatJar(dir);
  const { size } = await stat(jar);
  t.ok(size > 95e6 && size < 115e6, `the jar is about 100 MB (${(size / 1e6).toFixed(1)} MB)`);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const findings = await findClasspathConflicts({ jar });
  const cpu = process.cpuUsage(cpuBefore);
  const ms = Math.round(performance.now() - started);
  const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
  t.comment(`scanned ${(size / 1e6).toFixed(1)} MB in ${ms} ms (${cpuMs} ms of CPU)`);
  t.same(
    findings.map((f) => f.summary),
    ['lib-2 is on the classpath in 2 versions: 1.0, 2.0', '1 class is in both lib-0-1.0.jar and lib-1-1.0.jar'],
  );
  t.match(findings[0]!.evidence[2], /^300 classes in more than one of them/);
});
