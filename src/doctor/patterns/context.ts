// Lines after a match that say more than the matching line: read forward, bounded, and stopped at
// the first line that is no longer part of the same message.

const STACK_LINE = /^\s+at |^\s*\.\.\. \d+ (more|common frames omitted)|^\s*(Caused by|Suppressed): |^\s*$/;
const LOG_RECORD_START = /^(\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d|\[|\{|(TRACE|DEBUG|INFO|WARN|ERROR|FATAL)\b)/;

/** The `Caused by:` lines of the stack trace that starts at `at`: the last is usually the root cause. */
export function causeChain(lines: string[], at: number): string[] {
  const causes: string[] = [];
  for (let i = at + 1; i < Math.min(lines.length, at + 1000) && STACK_LINE.test(lines[i]!); i++) {
    const cause = /^\s*Caused by: (.*)$/.exec(lines[i]!);
    if (cause) causes.push(`Caused by: ${cause[1]!.trim()}`);
  }
  return causes;
}

/** The Description and Action that Spring Boot prints under APPLICATION FAILED TO START. */
export function springFailureAnalysis(lines: string[], at: number): string[] {
  const said: string[] = [];
  let section: 'banner' | 'description' | 'action' = 'banner';
  for (let i = at + 1; i < Math.min(lines.length, at + 60); i++) {
    const line = lines[i]!.trim();
    if (section === 'banner') {
      if (line === 'Description:') {
        section = 'description';
        said.push(line);
      } else if (line && !/^\*+$/.test(line)) break;
      continue;
    }
    if (LOG_RECORD_START.test(lines[i]!)) break;
    // The Action is one paragraph; a blank line after it ends the report.
    if (!line && section === 'action' && said[said.length - 1] !== 'Action:') break;
    if (line === 'Action:') section = 'action';
    if (line) said.push(line);
  }
  return said;
}

/** The signal, problematic frame and error report file of a JVM crash banner (`# ...` lines). */
export function crashReport(lines: string[], at: number): string[] {
  const said: string[] = [];
  for (let i = at + 1; i < Math.min(lines.length, at + 60) && lines[i]!.startsWith('#'); i++) {
    const line = lines[i]!.replace(/^#\s*/, '').trim();
    if (/^(SIG[A-Z]+|EXCEPTION_|Internal Error|Native memory allocation|Out of Memory Error)/.test(line)) said.push(line);
    const next = lines[i + 1]?.replace(/^#\s*/, '').trim();
    if (next && /^Problematic frame:/.test(line)) said.push(`Problematic frame: ${next}`);
    if (next && /error report file .* saved as:/.test(line)) said.push(`error report: ${next}`);
  }
  return said;
}

const LEVEL = /(?:^|[\s\[|])(TRACE|DEBUG|FINEST|FINER|FINE|CONFIG|INFO|WARN|WARNING|ERROR|SEVERE|FATAL)(?=[\s\]|:]|$)/;
const CONTINUATION = /^\s+at |^\s*\.\.\. \d+ (more|common frames omitted)|^\s*(Caused by|Suppressed): |^\s*[\w.$]+(Exception|Error|Throwable)\b/;

/**
 * The log record a line belongs to: its level (the record's first line, or the line before a JUL
 * message line), and whether it is the stack trace of an exception that ended the main thread.
 * A stack trace logged with a record belongs to it: walk back over its lines to the record's start.
 */
export function recordOf(lines: string[], at: number, matchAt: number): { level?: string; endedMain: boolean } {
  let start = at;
  while (start > 0 && at - start < 500 && CONTINUATION.test(lines[start]!)) start--;
  const head = lines[start]!;
  const endedMain = /Exception in thread "main"/.test(head);
  // On the matching line itself only what comes before the match can be its level.
  const said = start === at ? head.slice(0, matchAt) : head;
  const level = LEVEL.exec(said.slice(0, 160))?.[1];
  return { level, endedMain };
}
