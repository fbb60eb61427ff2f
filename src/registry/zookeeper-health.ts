// The health of one ZooKeeper session, as a record and pure functions (the shape of reconciler.ts's slots):
// events in, a new record out, and `nextAction` saying what the watchdog does now. The session does the I/O.
//
// Why a watchdog at all: the library neither notices a connection that stopped answering nor gives up on a
// session the servers no longer know, and it waits with no deadline for a server that took the TCP connection
// but never answers the handshake (one still starting).

/** What is known of the current session; printable in one line with `describeHealth`. */
export interface Health {
  session: number; // which session; an answer about an earlier one changes nothing
  sessionTimeoutMs: number; // as negotiated once connected
  connected: boolean;
  since: number; // ms epoch of the last connect or disconnect (the session's opening counts as a disconnect)
  lastProbe: number; // ms epoch the last liveness probe went out
  probing: 'liveness' | 'servers' | undefined; // one probe at a time, across sessions
  stalled: boolean; // connected, but a liveness probe got no answer in time
  serving: boolean; // disconnected, but a server says it serves clients
  outageReported: boolean; // the give-up of this outage was logged already; until the next connect
  nudgedAt: number | undefined; // disconnected while a server serves: when the connection was dropped to try the others
  askedAt: number; // ms epoch the servers were last asked
  jitter: number; // in [0, 1), drawn per session: a fleet that lost the ensemble together does not act in step
}

export type Action =
  | { kind: 'idle' }
  | { kind: 'probe'; timeoutMs: number } // does the connected session still answer (an `exists /`)?
  | { kind: 'askServers'; timeoutMs: number } // does any server serve clients (the `srvr` four-letter word)?
  | { kind: 'reconnect' } // drop the TCP connection; the library reconnects with the same session (to the next server)
  | { kind: 'newSession'; why: string; firstReport: boolean }; // only a new session gets through

/** A quick beat, so an outage's end is noticed at once; liveness probes go out only every quarter session timeout. */
export const watchdogBeatMs = 250;
// Longer than a leader election takes, so a session survives one.
export const outageAfterMs = 1500;
const askServersTimeoutMs = 500;
// After a nudge, the library's turn through the other servers (a spin delay, a connect on each) before giving up.
export const nudgeGraceMs = 750;
// The servers are asked every 1–2 s (by the session's jitter), less often as an outage goes on (a quarter of its length
// so far, up to half the session timeout), never every beat: a thousand sessions in an outage would otherwise open
// twelve thousand connections a second to a three-server ensemble.
export const askEveryMs = 1000;

/**
 * A session just opened: not connected yet. The outage it belongs to stays reported, a probe still out stays out.
 * `jitter` (in [0, 1)) spreads what a fleet of sessions does after one outage: asking the servers, giving up.
 */
export function opened(previous: Health | undefined, sessionTimeoutMs: number, now: number, jitter = 0): Health {
  return {
    session: (previous?.session ?? 0) + 1,
    sessionTimeoutMs,
    connected: false,
    since: now,
    lastProbe: previous?.lastProbe ?? 0,
    probing: previous?.probing,
    stalled: false,
    serving: false,
    outageReported: previous?.outageReported ?? false,
    nudgedAt: undefined,
    askedAt: previous?.askedAt ?? 0,
    jitter,
  };
}

export function connected(health: Health, sessionTimeoutMs: number, now: number): Health {
  return { ...health, sessionTimeoutMs, connected: true, since: now, stalled: false, serving: false, outageReported: false, nudgedAt: undefined };
}

export function disconnected(health: Health, now: number): Health {
  return { ...health, connected: false, since: now, stalled: false };
}

/** What to do for the session now. */
export function nextAction(health: Health, now: number): Action {
  if (health.probing) return { kind: 'idle' };
  const timeoutMs = health.sessionTimeoutMs;
  if (health.connected) {
    if (health.stalled) return { kind: 'reconnect' };
    if (now - health.lastProbe < timeoutMs / 4) return { kind: 'idle' };
    return { kind: 'probe', timeoutMs: Math.max(100, Math.floor(timeoutMs / 4)) };
  }
  // Disconnected: once the servers have surely dropped the session, only a new session gets through. While a server
  // serves, the connection may be stuck on one that does not (a member starting, in a rolling restart): the others
  // are tried with the same session first; only if it still does not come back (refused) is it given up.
  const down = now - health.since;
  // Past 4/3 of the timeout, and up to a quarter more by the jitter: a fleet's new sessions do not all come at once.
  if (down > (timeoutMs * 4) / 3 + (health.jitter * timeoutMs) / 4) return giveUp(health, 'no ZooKeeper server answered within the session timeout');
  if (health.serving) return health.nudgedAt === undefined ? { kind: 'reconnect' } : giveUp(health, 'a ZooKeeper server serves again but the session did not come back');
  if (down < Math.max(outageAfterMs, timeoutMs / 4)) return { kind: 'idle' };
  if (health.nudgedAt !== undefined && now - health.nudgedAt < nudgeGraceMs) return { kind: 'idle' };
  // After a nudge the servers are asked again as soon as the library had its turn.
  if (health.nudgedAt === undefined && now - health.askedAt < Math.max(askEveryMs, Math.min(down / 4, timeoutMs / 2)) * (1 + health.jitter)) return { kind: 'idle' };
  return { kind: 'askServers', timeoutMs: askServersTimeoutMs };
}

/** The watchdog acted on `action`. */
export function acted(health: Health, action: Action, now: number): Health {
  switch (action.kind) {
    case 'probe':
      return { ...health, probing: 'liveness', lastProbe: now };
    case 'askServers':
      return { ...health, probing: 'servers', askedAt: now };
    case 'reconnect':
      return health.connected ? { ...health, stalled: false } : { ...health, serving: false, nudgedAt: now };
    case 'newSession':
      return { ...health, outageReported: true };
    case 'idle':
      return health;
  }
}

/** A liveness probe of session `session` ended: answered, timed out, or failed otherwise (which the library handles). */
export function probed(health: Health, session: number, answer: 'answered' | 'timeout' | 'failed'): Health {
  if (session !== health.session) return { ...health, probing: undefined };
  return { ...health, probing: undefined, stalled: answer === 'timeout' && health.connected };
}

/** The servers were asked, for session `session`, whether any serves clients. */
export function serversAnswered(health: Health, session: number, serving: boolean): Health {
  if (session !== health.session) return { ...health, probing: undefined };
  return { ...health, probing: undefined, serving: serving && !health.connected };
}

export function describeHealth(health: Health, now: number): string {
  const parts = [`session ${health.session}`, `${health.connected ? 'connected' : 'disconnected'} ${now - health.since} ms`, `timeout ${health.sessionTimeoutMs} ms`];
  if (health.probing) parts.push(`probing ${health.probing}`);
  if (health.stalled) parts.push('stalled');
  if (health.serving) parts.push('a server serves');
  if (health.nudgedAt !== undefined) parts.push('nudged');
  if (health.outageReported) parts.push('outage reported');
  return parts.join(', ');
}

function giveUp(health: Health, why: string): Action {
  return { kind: 'newSession', why, firstReport: !health.outageReported };
}
