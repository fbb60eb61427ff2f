// `make bench`: nile's figures against baselines measured in the same run, as one table on stdout and
// build/bench.json. `node dist/test/bench/bench.js [--quick] [--only a,b] [--out FILE]`.

import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../helpers/paths.js';
import { ZooKeeperServers, zookeeperMissing } from '../helpers/zookeeper.js';
import type { Context } from './context.js';
import { buildNatives } from './natives.js';
import { removeScratchDir, scratchDir } from './processes.js';
import { conditionsNow, missingRow, renderTable, writeJson, type PartRun, type Row } from './report.js';
import { containerRows } from './rows/container.js';
import { doctorRows } from './rows/doctor.js';
import { idleRows } from './rows/idle.js';
import { outputContainerRows } from './rows/output-container.js';
import { outputRows } from './rows/output.js';
import { probeRows } from './rows/probe.js';
import { probeContainerRows } from './rows/probe-container.js';
import { reapRows } from './rows/reap.js';
import { registrationRows } from './rows/registration.js';
import { scaleRows } from './rows/registration-scale.js';
import { fleetRows } from './rows/registration-fleet.js';
import { sigtermRows } from './rows/sigterm.js';
import { startRows } from './rows/start.js';

type Part = (ctx: Context) => Promise<Row[]>;

// In this order: the idle window first, with the doctor's jar build and scan inside it (they do not
// touch the idle processes); then the timed rows one after another, so they do not disturb each other;
// the reap row last, as its 2,000 processes lift the load average that is reported for the others.
const order: Record<string, Part> = {
  idle: (ctx) => idleRows(ctx, () => only(ctx, 'doctor', doctorRows)),
  probe: probeRows,
  start: startRows,
  sigterm: sigtermRows,
  output: outputRows,
  registration: registrationRows,
  scale: scaleRows,
  fleet: fleetRows,
  container: containerRows,
  'output-container': outputContainerRows,
  'probe-container': probeContainerRows,
  reap: reapRows,
};

interface Options {
  quick: boolean;
  only: Set<string> | null;
  out: string;
}

function parseOptions(argv: string[]): Options {
  const value = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const only = value('--only');
  return { quick: argv.includes('--quick'), only: only ? new Set(only.split(',')) : null, out: value('--out') ?? path.join(ROOT, 'build', 'bench.json') };
}

let selected: Options;
const only = (ctx: Context, name: string, part: Part) => (selected.only && !selected.only.has(name) ? Promise.resolve([]) : guarded(name, () => part(ctx)));

/** A part that fails becomes a row that says so; the others still run. */
async function guarded(name: string, work: () => Promise<Row[]>): Promise<Row[]> {
  try {
    return await work();
  } catch (err) {
    return [missingRow(name, '—', `failed: ${(err as Error).message}`)];
  }
}

async function main(): Promise<number> {
  selected = parseOptions(process.argv.slice(2));
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  const dir = scratchDir(path.join(os.tmpdir(), 'nile-bench-'));
  let zookeeper: Promise<ZooKeeperServers> | undefined;
  const ctx: Context = {
    natives: await buildNatives(dir),
    dir,
    quick: selected.quick,
    zookeeper: () => {
      const missing = zookeeperMissing();
      if (missing) return Promise.reject(new Error(missing));
      zookeeper ??= ZooKeeperServers.standalone().then(async (servers) => (await servers.start(), servers));
      return zookeeper;
    },
  };
  const rows: Row[] = [];
  const parts: PartRun[] = [];
  try {
    // The doctor row runs inside the idle window, or alone when the idle window is not asked for.
    if (selected.only?.has('doctor') && !selected.only.has('idle')) rows.push(...(await guarded('doctor', () => doctorRows(ctx))));
    for (const [name, part] of Object.entries(order)) {
      if (selected.only && !selected.only.has(name)) continue;
      const loadBefore = os.loadavg()[0];
      process.stderr.write(`bench: ${name}… (load average ${loadBefore.toFixed(2)})\n`);
      const began = Date.now();
      rows.push(...(await guarded(name, () => part(ctx))));
      parts.push({ name, seconds: Math.round((Date.now() - began) / 1000), loadBefore });
    }
  } finally {
    if (zookeeper) await (await zookeeper.catch(() => undefined))?.destroy();
    removeScratchDir(dir);
  }
  const conditions = conditionsNow(startedAt, loadBefore, parts);
  writeJson(selected.out, rows, conditions);
  const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(' ');
  process.stdout.write(`\n${renderTable(rows)}\n\n`);
  process.stdout.write(`${conditions.cpus} CPUs, node ${conditions.node}, load average ${load(loadBefore)} before, ${load(conditions.loadAfter)} after; ${conditions.seconds} s\n`);
  process.stdout.write(`1-min load average as each part began: ${parts.map((p) => `${p.name} ${p.loadBefore.toFixed(1)}`).join(', ')}\n`);
  process.stdout.write(`JSON: ${selected.out}\n`);
  process.stdout.write('Re-run: make bench (or, once built: node dist/test/bench/bench.js [--only idle,doctor,probe,start,sigterm,output,registration,scale,fleet,container,output-container,probe-container,reap] [--quick] [--out FILE])\n');
  return rows.some((r) => r.note?.startsWith('failed:')) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
