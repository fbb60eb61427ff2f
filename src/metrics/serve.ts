import type { AppSupervisor } from '../app/supervisor.js';
import type { Serving } from '../calls/serving.js';
import type { Config } from '../config/schema.js';
import { serveBounded } from '../http/bounded-server.js';
import type { Log } from '../log.js';
import type { MemoryWatch } from '../memory/watch.js';
import type { PreviousEnd } from '../record/previous.js';
import type { BackendStatus } from '../registry/backend.js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from './prom.js';

/** What the metrics are read from, at each scrape. */
export interface Sources {
  app: AppSupervisor;
  ready: () => boolean; // the probe's verdict
  registry: () => BackendStatus[];
  serving: Serving;
  memory: () => MemoryWatch | null;
  previous: PreviousEnd | null; // how the previous container of the pod ended
}

export interface Metrics {
  /** One probe check, as the prober reports it. */
  probed(kind: string, ok: boolean, ms: number): void;
  close(): Promise<void>;
}

/** Prometheus text format on metrics.listen:metrics.port/metrics; values are read when scraped, so an idle agent does no work for them. */
export async function serveMetrics(config: Config['metrics'], sources: Sources, log: Log): Promise<Metrics> {
  const registry = new Registry();
  // The event loop delay is sampled once a second, not every 10 ms: an idle agent stays idle.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1000 });
  const { app, serving } = sources;
  const gauge = (name: string, help: string, collect: (g: Gauge) => void, labelNames: string[] = []) =>
    new Gauge({ name, help, labelNames, registers: [registry], collect() { collect(this); } });
  const counter = (name: string, help: string, labelNames: string[], collect: (c: Counter) => void) =>
    new Counter({ name, help, labelNames, registers: [registry], collect() { this.reset(); collect(this); } });

  gauge('nile_app_up', 'Whether the app process is running (1) or not (0).', (g) => g.set(app.state.pid !== null ? 1 : 0));
  gauge('nile_app_ready', 'Whether nile probe answers ready (1) or not (0).', (g) => g.set(sources.ready() ? 1 : 0));
  counter('nile_app_restarts_total', 'Restarts of the app after it exited.', [], (c) => c.inc(app.state.restarts));
  const startSeconds = gauge('nile_app_start_seconds', 'Seconds from the last start of the app to its first passing probe.', () => {});
  gauge('nile_registration_up', 'Whether the instance is registered in the registry (1) or not (0).', (g) => {
    g.reset();
    for (const b of sources.registry()) g.set({ backend: b.backend }, b.registered ? 1 : 0);
  }, ['backend']);
  // Registered since the app became ready and not held now: the pod stays Ready through a registry outage, this says it.
  gauge('nile_registration_lost', 'The registration put in place since the app became ready is not held now (1), by why: unreachable or refused.', (g) => {
    g.reset();
    for (const b of sources.registry()) if (b.lost) g.set({ backend: b.backend, reason: b.lost.reason }, 1);
  }, ['backend', 'reason']);
  counter('nile_calls_total', 'Online and offline calls made, by call name and result.', ['kind', 'name', 'result'], (c) => {
    for (const { kind, name, result, count } of serving.counts) c.inc({ kind, name, result }, count);
  });
  gauge('nile_container_memory_usage_bytes', "The container's memory usage, from its cgroup.", (g) => {
    const last = sources.memory()?.last;
    if (last) g.set(last.usageBytes);
  });
  gauge('nile_container_memory_limit_bytes', "The container's memory limit, from its cgroup (+Inf: none).", (g) => {
    const last = sources.memory()?.last;
    if (last) g.set(last.limitBytes ?? Infinity);
  });
  gauge('nile_container_memory_warning', 'Whether memory use is above memory.warnAt of the limit (1) or not (0).', (g) => g.set(sources.memory()?.status()?.above ? 1 : 0));
  gauge('nile_previous_container_killed', "Whether the pod's previous container was killed (1, by the app's phase then: nile did not exit) or not (0).", (g) => {
    if (sources.previous?.how === 'killed') g.set({ phase: sources.previous.phase }, 1);
    else g.set(0);
  }, ['phase']);
  gauge('nile_last_failure_timestamp_seconds', 'When the app last failed or crashed (Unix seconds; 0: never).', (g) => g.set(app.report ? Date.parse(app.report.at) / 1000 : 0));
  const probes = new Histogram({
    name: 'nile_probe_duration_seconds',
    help: 'Duration of the health checks nile runs, by kind (http, tcp) and result.',
    labelNames: ['kind', 'result'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });

  // Start to ready, taken when it happens: the phase after it no longer says how long it took.
  let was = app.state.phase;
  app.onChange((state) => {
    if (state.phase === 'ready' && was === 'starting' && state.startedAt !== null) startSeconds.set((Date.now() - state.startedAt) / 1000);
    was = state.phase;
  });

  const server = await serveBounded('metrics', config.listen, config.port, {
    '/metrics': async (_req, res) => {
      const text = await registry.metrics();
      res.setHeader('content-type', registry.contentType);
      res.end(text);
    },
  }, log);
  log.info({ listen: config.listen, port: config.port }, 'metrics served at /metrics');
  return {
    probed: (kind, ok, ms) => probes.observe({ kind, result: ok ? 'ok' : 'failed' }, ms / 1000),
    close: () => server.close(),
  };
}
