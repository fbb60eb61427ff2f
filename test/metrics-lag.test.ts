import t from 'tap';
import { collectDefaultMetrics, Registry } from '../src/metrics/prom.js';
import { waitFor } from './helpers/wait.js';

// The agent samples its event loop once a second (an idle agent wakes no more for it); the lag it
// reports is the delay over that second, not the second itself.

t.test('nodejs_eventloop_lag_* read the lag of an idle loop, not the 1 s sampling period', async (t) => {
  const register = new Registry();
  collectDefaultMetrics({ register, eventLoopMonitoringPrecision: 1000 });
  const values = async () => {
    const text = await register.metrics();
    return Object.fromEntries([...text.matchAll(/^(nodejs_eventloop_lag_\w+) (\S+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
  };
  // Each scrape starts the histogram again, so scrapes are spaced as Prometheus spaces them (seconds
  // apart, more than the period); wait for one that holds a sample (an empty one has no finite mean).
  const sampled = await waitFor('a scrape with a sample of the loop', async () => {
    const v = await values();
    return Number.isFinite(v.nodejs_eventloop_lag_mean_seconds) ? v : null;
  }, 15_000, { everyMs: 2500 });
  for (const name of ['min', 'max', 'mean', 'p50', 'p90', 'p99']) {
    const value = sampled[`nodejs_eventloop_lag_${name}_seconds`]!;
    t.ok(value >= 0 && value < 0.5, `nodejs_eventloop_lag_${name}_seconds is ${value}, an idle loop's delay`);
  }
});
