// prom-client for the metrics endpoint, loaded only when it is enabled: a static re-export, which the
// bundle resolves as it does the package's own requires (a dynamic import of the CommonJS package would not).
import { collectDefaultMetrics as collectPromDefaults, type Gauge, type Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

// Node's event loop histogram records the time between two ticks of its sampling timer, the period
// included: sampled once a second, an idle loop would read 1 s. These are shown less the period.
const eventLoopLags = ['min', 'max', 'mean', 'p50', 'p90', 'p99'].map((stat) => `nodejs_eventloop_lag_${stat}_seconds`);

/** prom-client's default metrics, the event loop's lag read as the delay over the sampling period. */
export function collectDefaultMetrics(config: { register: Registry; eventLoopMonitoringPrecision: number }): void {
  collectPromDefaults(config);
  const period = config.eventLoopMonitoringPrecision / 1000;
  for (const name of eventLoopLags) {
    const gauge = config.register.getSingleMetric(name) as Gauge | undefined;
    if (!gauge) continue;
    const read = gauge.get.bind(gauge);
    gauge.get = async () => {
      const metric = await read();
      return { ...metric, values: metric.values.map((v) => ({ ...v, value: Math.max(0, v.value - period) })) };
    };
  }
}
