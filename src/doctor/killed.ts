// The previous container of the pod was killed whole (nile did not exit): its record in runDir says
// what the app was doing and how close to the limit its memory was; the kernel's counts say whether
// the OOM killer struck.
import type { Finding } from '../control/protocol.cjs';
import type { OomCounts } from '../cgroup/memory.js';
import { describeReading, percent, type MemoryReading } from '../cgroup/reading.js';
import { killedWhen, phaseWords, type PreviousEnd } from '../record/previous.js';

/** The memory cgroup as it is now, to compare with the counts the record kept when it is the same one. */
export interface CgroupNow {
  dir: string;
  counts: OomCounts;
}

const countNames: Array<[keyof OomCounts, string]> = [
  ['atLimit', 'times at the limit (memory.events max, memory.failcnt)'],
  ['oomKills', 'oom_kill'],
  ['groupKills', 'oom_group_kill'],
];

/**
 * A finding naming the previous container's kill, 'container-oom-killed' when its memory says so: the last
 * reading at or above `warnAt` of the limit, or an OOM count that rose (during its start, or since its
 * last reading when this container runs in the same cgroup). Undefined when it was not killed.
 */
export function previousKillFinding(previous: PreviousEnd, recordFile: string, warnAt: number, now?: CgroupNow): Finding | undefined {
  if (previous.how !== 'killed') return undefined;
  const killed = previous.evidence;
  const readings = killed.memory.readings;
  const last = readings.at(-1);
  const rises = [...countRises(readings[0]?.counts, last?.counts, 'during its last readings'), ...(now && now.dir === killed.memory.cgroup ? countRises(last?.counts, now.counts, 'since its last reading') : [])];
  const high = last !== undefined && last.limitBytes !== null && last.usageBytes >= warnAt * last.limitBytes;
  const when = killedWhen(killed);
  const evidence = [
    `${recordFile}: the app was ${phaseWords[killed.app.phase]}${killed.app.pid !== null ? ` (pid ${killed.app.pid})` : ''} since ${killed.app.since}; nile's last record at ${killed.at}; nile did not exit`,
    ...readings.map((r) => `nile's memory reading at ${new Date(r.at).toISOString()}: ${describeReading(r)}${countsText(r.counts)}`),
    ...rises,
  ];
  const lastText = last ? `nile's last reading: ${describeReading(last)}` : 'nile had no memory reading';
  if (high || rises.length) {
    const why = rises.length ? `${rises[0]}${high ? `; ${lastText}` : ''}` : `${lastText}, at or above ${percent(warnAt)} of the limit`;
    return { cause: 'container-oom-killed', summary: `the previous container was killed ${when}, by the look of it by the kernel's OOM killer taking the whole container (memory.oom.group): ${why}`, evidence };
  }
  return { cause: 'container-killed', summary: `the previous container was killed ${when} (nile did not exit); not for its memory as far as nile saw (${lastText}): the pod's events say by whom (kubectl describe pod)`, evidence };
}

function countRises(before: OomCounts | undefined, after: OomCounts | undefined, when: string): string[] {
  if (!before || !after) return [];
  return countNames.flatMap(([key, name]) => {
    const [b, a] = [before[key], after[key]];
    return b !== undefined && a !== undefined && a > b ? [`${name} ${b} → ${a} ${when}`] : [];
  });
}

function countsText(counts: MemoryReading['counts']): string {
  const shown = countNames.filter(([key]) => counts?.[key] !== undefined).map(([key, name]) => `${name.split(' (')[0]} ${counts![key]}`);
  return shown.length ? `; ${shown.join(', ')}` : '';
}
