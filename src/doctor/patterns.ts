import type { Finding } from '../control/protocol.cjs';
import { recordOf } from './patterns/context.js';
import { PATTERNS, type Pattern } from './patterns/table.js';

/** Lines to look through: the app's output (no name) or a log file (its path). */
export interface Source {
  name?: string;
  lines: string[];
}

/** How much a finding from the output weighs when the doctor picks its headline. */
export type Weight =
  | 'ends' // it ends the app on its own: a JVM that cannot start or crashed, the exception that ended main
  | 'error' // a fatal error, logged at ERROR or printed without a level
  | 'logged'; // logged at WARN or INFO: the app said it and went on; never a headline

export interface PatternScan {
  findings: Finding[]; // most likely root cause first
  weights: Weight[]; // findings[i] weighs weights[i]
  classes: string[]; // classes named by missing-class and linkage errors that were not merely logged, for the classpath check
}

interface Hit {
  pattern: Pattern;
  match: RegExpExecArray;
  subject?: string;
  order: number; // position across all sources, output first
  text: string; // the line as the app wrote it, trimmed at its end
  quote: string;
  context: string[];
  where: string; // the source and line: "output line 12", "/var/log/app.log line 3"
  level?: string; // the log level of the record the line belongs to, when it has one
  endedMain: boolean; // the line is part of an exception that ended the main thread
}

interface Group {
  family: string;
  subject?: string;
  hits: Hit[];
}

const MAX_QUOTES = 6;
const MAX_LINE = 400;

/** Known fatal patterns, one finding per family and subject, ordered by tier and then by first appearance. */
export function scanForPatterns(sources: Source[], patterns: Pattern[] = PATTERNS): PatternScan {
  const groups = groupHits(findHits(sources, patterns));
  const ranked = groups.map((g) => ({ group: g, ...rank(g) })).sort((a, b) => a.tier - b.tier || a.order - b.order);
  const specific = ranked.some((r) => !r.fallback);
  // A general error only adds to a specific one, unless it is the exception that ended main and the
  // specific ones are not part of it.
  const endedMain = (group: Group) => group.hits.some((h) => h.endedMain);
  const specificEndedMain = ranked.some((r) => !r.fallback && endedMain(r.group));
  const kept = ranked.filter((r) => !(specific && r.fallback && (specificEndedMain || !endedMain(r.group))));
  const weighed = kept.map((r) => ({ ...r, weight: weightOf(r.group, r.tier) })).sort((a, b) => order(a.weight) - order(b.weight));
  const classes = weighed.filter((r) => r.lead.pattern.namesClass && r.group.subject && r.weight !== 'logged').map((r) => r.group.subject!);
  return { findings: weighed.map((r) => toFinding(r.group, r.lead)), weights: weighed.map((r) => r.weight), classes: [...new Set(classes)] };
}

const order = (weight: Weight) => ['ends', 'error', 'logged'].indexOf(weight);

// A group is merely logged when every line of it was logged at WARN or below.
function weightOf(group: Group, tier: number): Weight {
  if (group.hits.every((h) => h.level !== undefined && LOGGED.test(h.level))) return 'logged';
  if (tier === 0 || group.hits.some((h) => h.endedMain)) return 'ends';
  return 'error';
}

const LOGGED = /^(TRACE|DEBUG|FINE\w*|CONFIG|INFO|WARN|WARNING)$/;

function findHits(sources: Source[], patterns: Pattern[]): Hit[] {
  const hits: Hit[] = [];
  // A line repeated ten thousand times (a retry loop) has its context read once.
  const contextRead = new Set<string>();
  let order = 0;
  for (const source of sources) {
    source.lines.forEach((line, at) => {
      order++;
      for (const pattern of patterns) {
        const m = pattern.match.exec(line);
        if (!m) continue;
        const first = !contextRead.has(line);
        contextRead.add(line);
        const record = recordOf(source.lines, at, m.index);
        hits.push({
          pattern,
          match: m,
          subject: pattern.subject?.(m),
          order,
          text: line.trimEnd(),
          quote: quote(source, line),
          context: (first && pattern.context?.(source.lines, at, m)) || [],
          where: `${source.name ?? 'output'} line ${at + 1}`,
          level: record.level,
          endedMain: record.endedMain,
        });
        return;
      }
    });
  }
  return hits;
}

function groupHits(hits: Hit[]): Group[] {
  const groups: Group[] = [];
  for (const hit of hits) {
    const family = groups.filter((g) => g.family === hit.pattern.family);
    let group = hit.subject === undefined ? family[0] : (family.find((g) => g.subject === hit.subject) ?? family.find((g) => g.subject === undefined));
    if (!group) {
      group = { family: hit.pattern.family, hits: [] };
      groups.push(group);
    }
    group.subject ??= hit.subject;
    group.hits.push(hit);
  }
  return groups;
}

// The hit that names the finding: not an attachment if there is another, the lowest tier, not a
// fallback, one that knows its subject, the earliest.
function rank(group: Group): { lead: Hit; tier: number; order: number; fallback: boolean } {
  const primary = group.hits.filter((h) => !h.pattern.attach);
  const candidates = primary.length > 0 ? primary : group.hits;
  const lead = [...candidates].sort(
    (a, b) =>
      a.pattern.tier - b.pattern.tier ||
      Number(Boolean(a.pattern.fallback)) - Number(Boolean(b.pattern.fallback)) ||
      Number(b.subject !== undefined) - Number(a.subject !== undefined) ||
      a.order - b.order,
  )[0]!;
  return { lead, tier: lead.pattern.tier, order: group.hits[0]!.order, fallback: candidates.every((h) => h.pattern.fallback) };
}

function toFinding(group: Group, lead: Hit): Finding {
  // An app that prints a line and also logs it to a file says it twice: it is quoted once, as first seen.
  const quoted = new Map<string, string>();
  for (const hit of group.hits) if (!quoted.has(hit.text)) quoted.set(hit.text, hit.quote);
  const quotes = [...quoted.values()];
  const context = [...new Set(group.hits.flatMap((h) => h.context))];
  const evidence = [...quotes.slice(0, MAX_QUOTES), ...context];
  if (group.hits.length > MAX_QUOTES) evidence.push(`${group.hits.length} matching lines in all`);
  const level = lead.level && LOGGED.test(lead.level) ? { level: lead.level } : {};
  return { cause: lead.pattern.cause, summary: lead.pattern.summary(lead.match, lead.context), evidence, source: lead.where, ...level };
}

function quote(source: Source, line: string): string {
  const text = line.trimEnd();
  const short = text.length > MAX_LINE ? `${text.slice(0, MAX_LINE)}…` : text;
  return source.name ? `${source.name}: ${short}` : short;
}
