// The control socket's protocol: one request line `VERB [ARG]\n`, one JSON line back, then close.
// `probe` → {ok, ready, reason}; `status` → the status object, `status text` → {ok, text} as
// `nile status` prints it; `prestop` → {ok, done} once out of traffic. native/nile.c speaks it too.
// Kept free of imports so the fast commands load nothing else.

export const socketName = 'control.sock';
export const maxRequestBytes = 4096;
export const verbs = ['ping', 'probe', 'status', 'prestop', 'doctor'] as const;
export type Verb = (typeof verbs)[number];

export const defaultRunDir = '/run/nile';

/** Where the CLI looks for the agent: NILE_RUNDIR, else the default runDir. */
export function runDirFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.NILE_RUNDIR || defaultRunDir;
}
