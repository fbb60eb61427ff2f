const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

// Node's timers hold at most 2^31-1 ms (24.8 days): beyond, a timer fires at once. A day is more
// than any wait nile makes, and leaves room for the sums and doublings made of these values.
export const maxDurationMs = 24 * units.h;

/** `500ms`, `10s`, `5m`, `1h`, `1m30s` → milliseconds; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const parts = text.trim().match(/^(\d+(?:\.\d+)?(?:ms|s|m|h))+$/);
  if (!parts) return undefined;
  let total = 0;
  for (const [, value, unit] of text.trim().matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(value) * units[unit];
  return Math.round(total);
}

/** Milliseconds → the shortest duration string that reads back to the same value. */
export function formatDuration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) {
    if (ms >= units[unit] && ms % units[unit] === 0) return `${ms / units[unit]}${unit}`;
  }
  return `${ms}ms`;
}
