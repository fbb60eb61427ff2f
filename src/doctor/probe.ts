import type { Finding } from '../control/protocol.cjs';

/** One answer of the readiness probe while the app was starting. */
export interface ProbeAnswer {
  at: string; // ISO time
  ok: boolean;
  detail: string; // "http 404 /healthcheck in 3ms"
}

// The same answer at another speed is the same answer.
const gist = (detail: string) => detail.replace(/ in \d+ms\b/g, '').replace(/ after \d+ms\b/g, '');

/** What the probe saw before a start timed out: its last answer, and how many before it said the same. */
export function probeSaw(probes: ProbeAnswer[] | undefined): { phrase: string; evidence: string[] } {
  const last = probes?.[probes.length - 1];
  if (!probes || !last) return { phrase: 'the probe never got an answer', evidence: [] };
  const alike = probes.filter((p) => gist(p.detail) === gist(last.detail)).length;
  const many = alike > 1 ? `, the last ${alike} answers alike` : '';
  return {
    phrase: `the probe ${last.ok ? 'passed' : 'got'} ${gist(last.detail)} (at ${last.at.slice(11, 19)}${many})`,
    evidence: probes.map((p) => `probe at ${p.at}: ${p.ok ? 'ok' : 'failing'}: ${p.detail}`),
  };
}

/** A start that timed out: what the probe saw, then where the threads wait (from the dump's own finding, if any). */
export function startTimeoutFinding(probes: ProbeAnswer[] | undefined, threads: Finding | undefined): Finding {
  const saw = probeSaw(probes);
  const where = threads ? threads.summary.replace(/^the start timed out: /, '') : 'no thread dump was taken';
  return { cause: 'start-timeout', summary: `the start timed out: ${saw.phrase}; ${where}`, evidence: [...saw.evidence, ...(threads?.evidence ?? [])] };
}
