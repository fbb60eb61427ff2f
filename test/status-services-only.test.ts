import t from 'tap';
import { Nile } from './helpers/nile.js';

// With `app.command: []` nile supervises services only (runsvdir's job): every verb says the same of it.

t.test('a services-only container: nile status says what nile probe says', async (t) => {
  const nile = new Nile({ door: 'node', config: { project: 'only-services', type: 'worker', app: { command: [] } } });
  t.teardown(() => nile.stop());
  await nile.waitLog((l) => l.msg === 'nile started', 'nile started', 20_000);
  const probe = await nile.exec(['probe']);
  t.equal(probe.code, 0, 'ready');
  t.equal(probe.stdout, 'ready: no app configured (services only)\n');
  const status = await nile.exec(['status']);
  t.equal(status.stdout.split('\n')[0], probe.stdout.trim(), 'status opens with the probe\'s verdict');
  t.notMatch(status.stdout, /not spawned/);
  const json = JSON.parse((await nile.exec(['status', '--json'])).stdout);
  t.same(json.verdict, { ready: true, reason: 'ready: no app configured (services only)' });
});
