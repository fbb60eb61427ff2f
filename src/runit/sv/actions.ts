// sv's command words, decoded as sv.c's main() does: the letters to send and how to wait for them.

export interface Action {
  run: 'control' | 'status' | 'none'; // what to do first for each service
  acts: string; // the letters to send, or to check for (`C`: the wanted state)
  wait: boolean; // poll until the letters took effect, up to -w seconds
  kill: boolean; // on timeout, send `k`
}

const named: Record<string, Omit<Action, 'run'> & { run?: Action['run'] }> = {
  'try-restart': { acts: 'tc', wait: true, kill: false },
  check: { run: 'none', acts: 'C', wait: true, kill: false },
  shutdown: { acts: 'x', wait: true, kill: false },
  start: { acts: 'u', wait: true, kill: false },
  stop: { acts: 'd', wait: true, kill: false },
  restart: { acts: 'tcu', wait: true, kill: false },
  reload: { acts: 'h', wait: true, kill: false },
  'force-reload': { acts: 'tc', wait: true, kill: true },
  'force-restart': { acts: 'tcu', wait: true, kill: true },
  'force-shutdown': { acts: 'x', wait: true, kill: true },
  'force-stop': { acts: 'd', wait: true, kill: true },
};

/** Null for a word sv would answer with its usage. `verbose` (-v or -w) makes every command wait. */
export function parseAction(word: string, verbose: boolean): Action | null {
  const full = named[word];
  if (full) return { run: 'control', ...full };
  const first = word[0];
  if (!first) return null;
  if ('xe'.includes(first)) return { run: 'control', acts: 'x', wait: verbose, kill: false };
  if ('XE'.includes(first)) return { run: 'control', acts: 'x', wait: true, kill: true };
  if (first === 'D') return { run: 'control', acts: 'd', wait: true, kill: true };
  if (first === 'T') return { run: 'control', acts: 'tc', wait: true, kill: true };
  // Any other word starting with one of these letters sends that letter (`term`, `cont`, `usr1`…).
  if ('tcudophaikq12'.includes(first)) return { run: 'control', acts: first, wait: verbose, kill: false };
  if (first === 's') return { run: 'status', acts: 's', wait: false, kill: false };
  return null;
}
