import t from 'tap';
import { verdict } from '../src/agent/verdict.js';
import { initialState } from '../src/app/machine.js';

// The agent answers on its control socket before it has spawned the app: a probe then (the real
// runtime's exec is quick enough to land there) hears that the app is starting, not that it is
// wanted down.
t.test('before the app is spawned the verdict says starting', async (t) => {
  const now = Date.now();
  t.same(verdict(initialState(now), null, false, now), { ready: false, reason: 'not ready: starting (app not spawned yet)' });
  t.same(verdict({ ...initialState(now), want: 'down' }, null, false, now), { ready: false, reason: 'not ready: app is down (want down)' }, 'taken down by the operator, it says so');
});
