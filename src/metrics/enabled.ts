import type { Config } from '../config/schema.js';
import { errorText } from '../errors.js';
import type { Log } from '../log.js';
import type { Metrics, Sources } from './serve.js';

/** The metrics endpoint when metrics.port is set; its library is loaded only then. A port in use costs the metrics, not the agent. */
export async function metricsIfEnabled(config: Config['metrics'], sources: Sources, log: Log): Promise<Metrics | null> {
  if (!config.port) return null;
  try {
    return await (await import('./serve.js')).serveMetrics(config, sources, log);
  } catch (err) {
    log.error({ err: errorText(err), listen: config.listen, port: config.port }, 'metrics cannot be served; going on without them');
    return null;
  }
}
