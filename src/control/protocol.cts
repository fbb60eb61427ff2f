// The control socket's protocol: one request line `VERB [ARG]\n`, one JSON line back, then close.
// The answers' shapes are here, for the agent that writes them and every client that reads them:
// the fast commands, `nile doctor`, and native/nile.c, which reads `ready` and `reason` (probe) and
// `text` (status text). Type-only imports and no others: the fast commands load nothing else.
import type { Phase } from '../app/machine.js';
import type { FailureReport } from '../app/report.js';
import type { MemoryStatus } from '../memory/watch.js';
import type { BackendStatus } from '../registry/backend.js';
import type { Exit } from '../runit/letters.js';
import type { TrafficState } from '../traffic/machine.js';

export const socketName = 'control.sock';
export const maxRequestBytes = 4096;
// The one line a verdict is printed as (`nile probe`, GET /ready); the kubelet keeps at most 10 KiB of a probe's output.
export const maxLine = 1024;
export const verbs = ['ping', 'probe', 'status', 'prestop', 'doctor'] as const;
export type Verb = (typeof verbs)[number];

export const defaultRunDir = '/run/nile';

/** Where the CLI looks for the agent: NILE_RUNDIR, else the default runDir. */
export function runDirFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.NILE_RUNDIR || defaultRunDir;
}

/** The readiness verdict: `probe` answers it, `nile probe` prints its reason and exits 0 when ready. */
export interface Verdict {
  ready: boolean;
  reason: string; // one line: it lands in the pod's events
}

/** One named cause of a failed or sick app, with what shows it. */
export interface Finding {
  cause: string; // short id, e.g. 'port-in-use'
  summary: string; // one line a developer understands, e.g. "port 8080 is already in use"
  evidence: string[]; // quoted lines, file paths, numbers
  source?: string; // the line it came from: "output line 12", "/var/log/app.log line 3"
  level?: string; // the log level of that line, when it was logged at WARN or below: never the headline
  note?: true; // history worth showing, nothing wrong now (the previous container's kill when the app started anyway): nile doctor still exits 0
}

/** `doctor`'s answer, and what `nile doctor` makes of the scene when no agent answers. */
export interface Diagnosis {
  phase: string;
  failed: boolean; // the app failed: exit 1 even when nothing else is found
  lastOutput: string[];
  findings: Finding[];
}

/** One supervised service beside the app (sshd, the runit services), as `nile status` lists it. */
export interface ServiceLine {
  name: string;
  state: string;
  pid: number | null;
  since: number;
  want?: string;
  note?: string; // why it does not run, e.g. the privilege it lacks
}

/** One online or offline call, as `nile status` lists it. */
export interface CallLine {
  kind: 'online' | 'offline';
  name: string;
  ok: boolean;
  detail: string;
  at: string;
  ms: number;
}

/** `status`'s answer: everything `nile status --json` shows; `status text` renders it as `{ok, text}`. */
export interface Status {
  ok: true;
  pid: number;
  verdict: Verdict;
  draining: { since: string; by: string } | null;
  app: {
    phase: Phase;
    want: 'up' | 'down';
    pid: number | null;
    jvms?: number[]; // the JVM(s) behind the app when it is a start script running java as a child
    since: string;
    uptimeMs: number | null;
    restarts: number;
    lastExit: Exit | null;
    probe: { ok: boolean; detail: string; at: number } | null;
  };
  services: ServiceLine[];
  registry: BackendStatus[];
  calls: CallLine[];
  memory: MemoryStatus | null;
  previous: { how: 'exited' | 'killed'; phase: Phase; at: string; line: string } | null; // how the previous container of the pod ended
  lastFailure: FailureReport | null;
  traffic?: TrafficState & { line: string }; // in service, online, registered, leaving, draining: the traffic's record
}

/** What each verb answers when it works; a failed request answers `{ok: false, error}`. */
export interface Answers {
  ping: { ok: true; pid: number };
  probe: { ok: true } & Verdict;
  status: Status | { ok: true; text: string };
  prestop: { ok: true; done: true };
  doctor: { ok: true } & Diagnosis;
}
