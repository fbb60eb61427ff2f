// runsv's control vocabulary, shared by every supervised service, the app included: the letters
// `sv` writes to supervise/control, the signal each signal letter sends, and how a child ended.
// Pure, and free of imports: `nile sv` loads it.

/** The letters runsv understands on supervise/control; `sv` sends them. */
export type ControlLetter = 'u' | 'd' | 'o' | 'x' | 't' | 'k' | 'p' | 'c' | 'h' | 'a' | 'i' | 'q' | '1' | '2';
const controlLetters = new Set('udoxtkpchaiq12');

export function isControlLetter(ch: string): ch is ControlLetter {
  return controlLetters.has(ch);
}

/** A signal by the name `sv` uses for it (`sv term`, `sv hup`): without the SIG prefix. */
export type SignalName = 'TERM' | 'KILL' | 'STOP' | 'CONT' | 'HUP' | 'ALRM' | 'INT' | 'QUIT' | 'USR1' | 'USR2';

/** runsv's ctrl(): the letters that send a signal, and which. */
export const letterSignal = { t: 'TERM', k: 'KILL', p: 'STOP', c: 'CONT', h: 'HUP', a: 'ALRM', i: 'INT', q: 'QUIT', '1': 'USR1', '2': 'USR2' } as const satisfies Partial<Record<ControlLetter, SignalName>>;
export type SignalLetter = keyof typeof letterSignal;

export const isSignalLetter = (letter: string): letter is SignalLetter => Object.hasOwn(letterSignal, letter);

/**
 * How a child ended: its exit code, or the signal that killed it. The app's signal is a name
 * (`KILL`), for reports and 128+N; runsv's a number, for ./finish's arguments.
 */
export interface Exit<S extends string | number = string> {
  code: number | null;
  signal: S | null;
}
