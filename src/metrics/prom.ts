// prom-client for the metrics endpoint, loaded only when it is enabled: a static re-export, which the
// bundle resolves as it does the package's own requires (a dynamic import of the CommonJS package would not).
export { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
