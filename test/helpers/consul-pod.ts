// What the tests of Consul registration through the whole agent share (kv mode and service mode): the Consul API
// double, a switchable pod registered in it, and the checks both modes pass, read the way nginx upsync reads Consul.

import type { Test } from 'tap';
import { ConsulDouble, type ConsulDoubleOptions } from '../consul-double/index.js';
import { checkLeavesBeforeStop, describeDeparture, measured, served, type Server, type UpsyncReader } from './upsync.js';
import { registryStatus, registryStatusUntil, startSwitchablePod, type SwitchablePod } from './switchable-pod.js';
import { waitFor } from './wait.js';

export const UPSTREAM = 'shop-web';
export const TTL_MS = 3000; // nile renews every TTL/3
/** The `wait` of the readers' blocking queries: short, so a query that carries a restarted Consul's higher index ends soon. */
export const readerWaitS = 1;

export async function startConsul(t: Test, options: ConsulDoubleOptions = {}): Promise<ConsulDouble> {
  const consul = await ConsulDouble.start({ minTtlMs: 0, ...options });
  t.teardown(() => consul.stop());
  return consul;
}

export function consulPod(t: Test, name: string, consul: Record<string, unknown>): Promise<SwitchablePod> {
  return startSwitchablePod(t, name, { upstream: UPSTREAM, weight: 3, maxFails: 4, failTimeout: 7, consul: { ttl: `${TTL_MS}ms`, ...consul } });
}

export const backupJson = '{"weight":1,"max_fails":2,"fail_timeout":10,"down":0,"backup":1}';
const expected = (address: string, down: boolean): Server => ({ address, weight: 3, maxFails: 4, failTimeout: 7, down, backup: false });

/** Ready → served; not ready → held as down; ready → served again. */
export async function followsReadiness(t: Test, reader: UpsyncReader, instance: SwitchablePod): Promise<void> {
  const { pod, address } = instance;
  const ready = await pod.nile.waitPhase('ready', 30_000);
  const registered = await reader.waitServed(address, 5000);
  measured(t, `${reader.name}: ready → registered`, registered.at - ready.time);
  t.notOk(
    reader.samples.some((s) => s.at < ready.time && served(s.servers).includes(address)),
    'never served before the app was ready',
  );
  t.same(registered.servers.find((s) => s.address === address), expected(address, false), 'nginx reads weight, max_fails and fail_timeout');

  const sickAt = Date.now();
  instance.sick(true);
  const notReady = await pod.nile.waitPhase('notReady', 5000, sickAt);
  const down = await reader.waitHeld(address, true, 5000, sickAt);
  measured(t, `${reader.name}: not ready → held as down`, down.at - notReady.time);
  t.match(await registryStatus(pod), [{ state: 'down', registered: true }], 'nile status says down');

  const wellAt = Date.now();
  instance.sick(false);
  const readyAgain = await pod.nile.waitPhase('ready', 5000, wellAt);
  const up = await reader.waitHeld(address, false, 5000, wellAt);
  measured(t, `${reader.name}: ready again → served`, up.at - readyAgain.time);
}

/** The double restarts and forgets everything; nile's heartbeat notices and registers again. */
export async function comesBackAfterRestart(t: Test, reader: UpsyncReader, consul: ConsulDouble, instance: SwitchablePod, heldByConsul: () => Promise<boolean>): Promise<void> {
  const restartedAt = Date.now();
  await consul.restart();
  // Refused while it restarts.
  const heldAt = await waitFor('the instance held by Consul', async () => (await heldByConsul().catch(() => false)) && Date.now(), restartedAt + TTL_MS + 3000 - Date.now(), { everyMs: 50 }).catch(() => 0);
  measured(t, `Consul restarted without state → registered again`, heldAt - restartedAt);
  // That the heartbeat notices within the TTL is registry-consul's, on the double's clock.
  t.ok(heldAt, 'registered again by itself');
  // upsync's next blocking query may carry the forgotten Consul's higher index: it waits out its `wait`.
  const back = await reader.waitServed(instance.address, reader.lagMs + readerWaitS * 1000 + 2000, restartedAt);
  measured(t, `${reader.name}: Consul restarted without state → nginx serves it again`, back.at - restartedAt);
  t.ok(await heldByConsul(), 'the restarted Consul holds the registration');
  t.same(back.servers.find((s) => s.address === instance.address), expected(instance.address, false), 'with the same upsync data');
  t.match(await registryStatusUntil(instance.pod, (r) => r.state === 'registered', 2000), [{ state: 'registered', registered: true }], 'nile status: registered');
}

/**
 * upsync never deletes an upstream's last server: another one (here a backup server, as the README advises) is
 * held first, then the instance leaves.
 */
export async function leaves(t: Test, reader: UpsyncReader, instance: SwitchablePod, addBackup: (address: string) => Promise<void>): Promise<void> {
  const backup = `127.0.0.1:${instance.port === 65535 ? 1 : instance.port + 1}`;
  await addBackup(backup);
  await reader.waitFor('the backup server held', (servers) => servers.some((s) => s.address === backup && s.backup), reader.lagMs + 5000);
  const exited = instance.pod.deletePod();
  const departure = await checkLeavesBeforeStop(t, reader, instance.pod, instance.address);
  if (departure) t.comment(`measured: ${reader.name}: prestop: ${describeDeparture(departure)}`);
  t.equal((await exited).code, 143, 'the app ended by TERM');
}
