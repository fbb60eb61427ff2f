// What the tests of registration through the whole agent share: a pod whose app's health they
// switch off and on, and the registry part of its `nile status --json`.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { startPod, type Kubelet } from './kubelet.js';
import { freePort } from './ports.js';
import { upsyncLagMs } from './upsync.js';
import { waitFor } from './wait.js';

// A web app whose readiness the test switches: /healthcheck answers 503 while the file exists, 200 otherwise.
const switchableAppSource = `
const [port, sickFile] = process.argv.slice(1);
require('node:http')
  .createServer((req, res) => {
    res.statusCode = req.url === '/healthcheck' && !require('node:fs').existsSync(sickFile) ? 200 : 503;
    res.end();
  })
  .listen(Number(port), '127.0.0.1', () => console.log('switchable app listening on ' + port));
`;

/** A pod whose app's health the test turns off (`sick(true)`) and on; registered as 127.0.0.1:<its port>. */
export interface SwitchablePod {
  pod: Kubelet;
  port: number;
  address: string;
  sick(on: boolean): void;
}

/**
 * Starts a web pod (probe every 200 ms, prestop wait past upsync's lag unless `prestopWait` says otherwise) with
 * `registry` as its nile.yaml registry section.
 */
export async function startSwitchablePod(t: Test, name: string, registry: Record<string, unknown>, options: { prestopWait?: string } = {}): Promise<SwitchablePod> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nile-switchable-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const sickFile = path.join(dir, 'sick');
  const pod = await startPod(t, {
    door: 'front',
    name,
    nile: {
      project: 'shop',
      type: 'web',
      app: { command: [process.execPath, '-e', switchableAppSource, String(port), sickFile], startTimeout: '30s', stopTimeout: '5s' },
      probe: { http: { port }, interval: '200ms' },
      registry: { address: '127.0.0.1', port, ...registry },
      prestop: { wait: options.prestopWait ?? `${upsyncLagMs + 500}ms` },
    },
    readinessProbe: { periodSeconds: 0.5, timeoutSeconds: 5 },
  });
  const sick = (on: boolean): void => (on ? writeFileSync(sickFile, '') : rmSync(sickFile, { force: true }));
  return { pod, port, address: `127.0.0.1:${port}`, sick };
}

/** The registry part of `nile status --json`, as run in the pod. */
export interface RegistryStatus {
  backend: string;
  state: string;
  registered: boolean;
  lastError?: string;
  lost?: { reason: string; since: number }; // registered since the app became ready, not held now
}

export async function registryStatus(pod: Kubelet): Promise<RegistryStatus[]> {
  const run = await pod.execInPod(['nile', 'status', '--json'], 10_000);
  return (JSON.parse(run.stdout) as { registry: RegistryStatus[] }).registry;
}

/** The registry status once its first backend satisfies `check`, or the last answer after timeoutMs. */
export async function registryStatusUntil(pod: Kubelet, check: (backend: RegistryStatus) => boolean, timeoutMs: number): Promise<RegistryStatus[]> {
  let status: RegistryStatus[] = [];
  const holds = async () => ((status = await registryStatus(pod))[0] && check(status[0])) || false;
  await waitFor('the registry status', holds, timeoutMs, { everyMs: 200 }).catch(() => undefined);
  return status;
}
