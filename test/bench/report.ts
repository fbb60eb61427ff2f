// The table `make bench` prints and writes to build/bench.json: one row per figure, nile against its
// baseline measured in the same run, and whether the target is met.

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, type Summary } from './stats.js';

export interface Row {
  figure: string;
  nile: string;
  baseline: string;
  comparison: string; // a ratio or a difference
  target: string;
  met: boolean | null; // null: nothing to hold it against (not measured, or report only)
  note?: string;
  data?: Record<string, unknown>;
}

export interface Measured {
  summary: Summary;
  unit: string;
  label?: string; // which baseline, when there are several
}

const show = (m: Measured, digits = 1) => (m.label ? `${m.label}: ` : '') + describe(m.summary, m.unit, digits);

/** nile's median over the baseline's, held against an upper (`max`) or lower (`min`) bound. */
export function ratioRow(figure: string, nile: Measured, base: Measured, bound: { max?: number; min?: number }, extra: Partial<Row> = {}): Row {
  const ratio = nile.summary.median / base.summary.median;
  const met = (bound.max === undefined || ratio <= bound.max) && (bound.min === undefined || ratio >= bound.min);
  const target = bound.max !== undefined ? `≤ ${bound.max}×` : `≥ ${bound.min}×`;
  return { figure, nile: show(nile), baseline: show(base), comparison: `${ratio.toFixed(2)}×`, target, met, ...extra, data: { nile, baseline: base, ratio, ...extra.data } };
}

/** nile's median minus each baseline's; met when it is at most `maxMore` above `against` (the first baseline unless named). */
export function differenceRow(figure: string, nile: Measured, bases: Measured[], maxMore: number, extra: Partial<Row> & { against?: string } = {}): Row {
  const differences = bases.map((b) => ({ label: b.label ?? 'baseline', more: nile.summary.median - b.summary.median }));
  const held = extra.against ? differences.filter((d) => d.label === extra.against) : differences;
  const worst = Math.max(...held.map((d) => d.more));
  const signed = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(1)}`;
  const { against, ...rest } = extra;
  return {
    figure,
    nile: show(nile),
    baseline: bases.map((b) => show(b)).join('; '),
    comparison: differences.map((d) => `${signed(d.more)} ${nile.unit} vs ${d.label}`).join('; '),
    target: `≤ +${maxMore} ${nile.unit}${against ? ` vs ${against}` : ''}`,
    met: worst <= maxMore,
    ...rest,
    data: { nile, baselines: bases, differences, ...rest.data },
  };
}

/** nile's median against a fixed bound. */
export function limitRow(figure: string, nile: Measured, bound: { below: number }, extra: Partial<Row> = {}): Row {
  return { figure, nile: show(nile), baseline: '—', comparison: '—', target: `< ${bound.below} ${nile.unit}`, met: nile.summary.median < bound.below, ...extra, data: { nile, ...extra.data } };
}

/** A figure that could not be measured in this run, and why. */
export function missingRow(figure: string, target: string, why: string): Row {
  return { figure, nile: 'not available', baseline: '—', comparison: '—', target, met: null, note: why };
}

export function renderTable(rows: Row[]): string {
  const header = ['figure', 'nile', 'baseline', 'ratio / difference', 'target', 'met'];
  const cells = rows.map((r) => [r.figure, r.nile, r.baseline, r.comparison, r.target, r.met === null ? '—' : r.met ? 'yes' : 'NO']);
  const lines = [header, header.map(() => '---'), ...cells].map((c) => `| ${c.join(' | ')} |`);
  const notes = rows.flatMap((r, i) => (r.note ? [`  [${i + 1}] ${r.figure}: ${r.note}`] : []));
  return [...lines, ...(notes.length ? ['', 'notes:', ...notes] : [])].join('\n');
}

/** One part of the bench, and how loaded the machine was as it began. */
export interface PartRun {
  name: string;
  seconds: number;
  loadBefore: number; // 1-min load average
}

export interface Conditions {
  startedAt: string;
  seconds: number;
  loadBefore: number[];
  loadAfter: number[];
  cpus: number;
  node: string;
  parts: PartRun[];
}

export function writeJson(file: string, rows: Row[], conditions: Conditions): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ conditions, rows }, null, 2) + '\n');
}

export function conditionsNow(startedAt: Date, loadBefore: number[], parts: PartRun[]): Conditions {
  return {
    startedAt: startedAt.toISOString(),
    seconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    loadBefore,
    loadAfter: os.loadavg(),
    cpus: os.cpus().length,
    node: process.version,
    parts,
  };
}
