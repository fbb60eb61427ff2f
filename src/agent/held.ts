import type { MemoryWatch } from '../memory/watch.js';
import type { Metrics } from '../metrics/serve.js';
import type { RegistrationState } from '../registry/registration.js';
import type { SideServices } from './services.js';

/** What comes up beside the app, filled in as it does: null when not configured (or not available). */
export interface Held {
  registration: RegistrationState; // loading until its clients are up (or failed): not ready till then
  side: SideServices | null; // sshd and the runit services, once started
  memory: MemoryWatch | null;
  metrics: Metrics | null;
}
