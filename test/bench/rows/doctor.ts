// `nile doctor`'s classpath scan over a ~100 MB fat jar (test/helpers/jars.ts builds it), each scan in
// a fresh process as the doctor runs it. Without the scan or the builder, the row says so.

import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from '../../helpers/paths.js';
import { type Context, runsOf, scratch } from '../context.js';
import { run } from '../processes.js';
import { limitRow, missingRow, type Row } from '../report.js';
import { summarize } from '../stats.js';

const figure = '`nile doctor` classpath scan, ~100 MB fat jar';
const scanner = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'doctor-scan.js');
const needed = [path.join(ROOT, 'dist', 'src', 'doctor', 'classpath.js'), path.join(ROOT, 'dist', 'test', 'helpers', 'jars.js')];

export async function doctorRows(ctx: Context): Promise<Row[]> {
  const missing = needed.filter((file) => !existsSync(file));
  if (missing.length) return [missingRow(figure, '< 2000 ms', `not built: ${missing.map((f) => path.relative(ROOT, f)).join(', ')}`)];
  const { buildBigFatJar } = await import('../../helpers/jars.js');
  const jar = ctx.quick ? await buildBigFatJar(scratch(ctx, 'jar'), { jars: 4, classesPerJar: 20, payloadBytes: 1024 }) : await buildBigFatJar(scratch(ctx, 'jar'));
  const times: number[] = [];
  let findings = 0;
  for (let i = 0; i < runsOf(ctx, 5); i++) {
    const result = JSON.parse(await run(process.execPath, [scanner, jar])) as { ms: number; findings: number };
    times.push(result.ms);
    findings = result.findings;
  }
  const mb = statSync(jar).size / 1e6;
  return [limitRow(figure, { summary: summarize(times), unit: 'ms' }, { below: 2000 }, { note: `${mb.toFixed(1)} MB jar; findClasspathConflicts({ jar }) timed inside a fresh node per scan; ${findings} findings` })];
}
