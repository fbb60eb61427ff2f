// Every figure is the median of its runs, shown with the smallest and the largest.

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function summarize(values: number[]): Summary {
  if (values.length === 0) throw new Error('no runs to summarize');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], n: sorted.length };
}

/** `63.2 ms (58.1–80.4, n=30)` */
export function describe(summary: Summary, unit: string, digits = 1): string {
  const f = (v: number) => v.toFixed(digits);
  return `${f(summary.median)} ${unit} (${f(summary.min)}–${f(summary.max)}, n=${summary.n})`;
}

export const nsToMs = (ns: bigint | number): number => Number(ns) / 1e6;
