import type { AppState } from '../app/machine.js';

/**
 * ps and top show the agent by its state, as runit's runsv does (`nile: ready`), not as `node` or
 * Node 24's `MainThread`: process.title sets both the command line and the thread's name.
 */
export function showStateInTitle(app: { onChange(listener: (state: AppState) => void): void }): void {
  process.title = 'nile: starting';
  app.onChange((state) => {
    const title = `nile: ${state.phase}`;
    if (process.title !== title) process.title = title;
  });
}
