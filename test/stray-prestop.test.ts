import t from 'tap';
import { ConsulDouble } from './consul-double/index.js';
import type { ExecResult } from './helpers/exec.js';
import { registryStatusUntil, startSwitchablePod } from './helpers/switchable-pod.js';
import { waitFor } from './helpers/wait.js';

// `kubectl exec … nile prestop` by mistake: the pod is drained and deregistered. The operator's
// `nile sv up app` brings it back: the probe is ready and the registration is in place again.

const UPSTREAM = 'shop-web';

t.test('sv up app after a stray prestop: ready and registered again', async (t) => {
  const consul = await ConsulDouble.start({ minTtlMs: 0 });
  t.teardown(() => consul.stop());
  const { pod, address } = await startSwitchablePod(t, 'stray-prestop', { upstream: UPSTREAM, consul: { url: consul.url, ttl: '3s' } });
  const key = `${consul.url}/v1/kv/upstreams/${UPSTREAM}/${address}`;
  const keyStatus = async () => (await fetch(key)).status;

  await pod.waitReady(true, 30_000);
  t.equal((await registryStatusUntil(pod, (b) => b.registered, 10_000))[0]?.registered, true, 'registered once ready');
  t.equal(await keyStatus(), 200, 'the key is in Consul');

  const hook = await pod.execInPod(['nile', 'prestop'], 30_000);
  t.equal(hook.code, 0, 'prestop done');
  t.equal(await keyStatus(), 404, 'deregistered');
  const probe = await pod.execInPod(['nile', 'probe'], 10_000);
  t.equal(probe.code, 1, `not ready while drained: ${probe.stdout.trim()}`);
  const status = await pod.execInPod(['nile', 'status'], 10_000);
  t.match(status.stdout, /^draining \(since \d{4}-\d\d-\d\dT[\d:.]+Z, by prestop\)$/m, 'status says since when and why');

  const up = await pod.execInPod(['nile', 'sv', 'up', 'app'], 15_000);
  t.equal(up.code, 0, `sv up app: ${up.stdout}${up.stderr}`);
  let again!: ExecResult;
  await waitFor('nile probe to answer ready', async () => (again = await pod.execInPod(['nile', 'probe'], 10_000)).code === 0, 10_000, { everyMs: 200 }).catch(() => undefined);
  t.equal(again.code, 0, `nile probe is ready again: ${again.stdout.trim()}`);
  t.equal((await registryStatusUntil(pod, (b) => b.registered, 10_000))[0]?.registered, true, 'nile says registered');
  t.equal(await keyStatus(), 200, 'the key is back in Consul');
  t.notMatch((await pod.execInPod(['nile', 'status'], 10_000)).stdout, /draining/, 'status no longer says draining');

  // A second prestop works as the first did.
  t.equal((await pod.execInPod(['nile', 'prestop'], 30_000)).code, 0);
  t.equal(await keyStatus(), 404, 'a later prestop deregisters again');
});
