// The bench code runs: two of its rows in quick mode, with a table and a JSON file to show for it; and
// the output row, one producer and one counting reader for nile's relay, `| cat` and a direct write.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { cleanEnv } from './helpers/nile.js';
import { ROOT } from './helpers/paths.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-bench-smoke-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('`bench --quick --only start,sigterm` measures nile, tini and dumb-init as PID 1', async (t) => {
  const out = path.join(dir, 'bench.json');
  const bench = path.join(ROOT, 'dist', 'test', 'bench', 'bench.js');
  const result = spawnSync(process.execPath, [bench, '--quick', '--only', 'start,sigterm', '--out', out], { env: cleanEnv(), encoding: 'utf8', timeout: 120_000 });
  t.equal(result.status, 0, `the bench exits 0 (stderr: ${result.stderr.slice(-500)})`);
  t.match(result.stdout, /\| exec nile → app first instruction, production example config \|/, 'the table has the start row over the production example config');
  const { rows, conditions } = JSON.parse(readFileSync(out, 'utf8'));
  t.equal(conditions.cpus, os.cpus().length, 'the conditions of the run are recorded');
  t.same(rows.map((r: { figure: string }) => r.figure), [
    'exec nile → app first instruction, production example config',
    'exec nile → app first instruction, worker config',
    'SIGTERM to PID 1 → exit (app exits at once)',
  ]);
  for (const row of rows) {
    t.type(row.met, 'boolean', `${row.figure}: measured`);
    t.ok(row.data.nile.summary.median > 0, `${row.figure}: nile's median is a time`);
    for (const base of row.data.baselines) t.ok(base.summary.median > 0, `${row.figure}: ${base.label}'s median is a time`);
  }
});

t.test('`bench --quick --only output` passes every line through nile and through cat to the same reader', async (t) => {
  const out = path.join(dir, 'output.json');
  const bench = path.join(ROOT, 'dist', 'test', 'bench', 'bench.js');
  const result = spawnSync(process.execPath, [bench, '--quick', '--only', 'output', '--out', out], { env: cleanEnv(), encoding: 'utf8', timeout: 120_000 });
  t.equal(result.status, 0, `the bench exits 0 (stderr: ${result.stderr.slice(-500)})`);
  const { rows } = JSON.parse(readFileSync(out, 'utf8'));
  const [rate, cpu] = rows;
  t.same(rows.map((r: { figure: string }) => r.figure), ['app stdout passed through, MB/s', 'app stdout passed through: CPU of the process in between, s per GiB']);
  // 4 MiB of the quick run: four copies of 10,000 log lines, each counted at the reader.
  t.equal(rate.data.lines, 40_000, 'the reader counted every line, the same in every round of every way');
  t.ok(rate.data.nile.summary.median > 0 && rate.data.baseline.summary.median > 0 && rate.data.direct.median > 0, 'each way has a throughput');
  // CPU is read in clock ticks (10 ms): a quick run's few MB may round to 0, so only its shape is checked here.
    t.ok([cpu.data.nile.summary, cpu.data.baseline.summary].every((s) => Number.isFinite(s.median) && s.min >= 0), 'the CPU of nile\'s agent and of cat was read in every round');
});
