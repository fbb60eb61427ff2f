import t from 'tap';
import { loadConfig } from '../src/config/load.js';
import { printConfig } from '../src/config/print.js';

// The online:/offline: lists, metrics: and memory: in nile.yaml: validated with each bad field's path, printed back.

const load = (yaml: Record<string, unknown>, env: Record<string, string> = {}) => {
  const file = `${t.testdir({ 'nile.yaml': JSON.stringify({ project: 'p', ...yaml }) })}/nile.yaml`;
  return loadConfig({ file, env });
};

t.test('defaults: no calls, metrics off, warn at 90 %', async (t) => {
  const r = load({});
  t.ok(r.ok);
  if (!r.ok) return;
  t.same([r.config.online, r.config.offline, r.config.metrics, r.config.memory], [[], [], { port: 0, listen: '0.0.0.0' }, { warnAt: 0.9 }]);
});

t.test('a call list is filled with defaults, and printed back without header values that look secret', async (t) => {
  const r = load({ online: [{ name: 'gateway', url: 'http://gw/online', headers: { Authorization: 'Bearer x1', 'X-Zone': 'a' }, headerFiles: { 'X-Token': '/etc/token' } }], memory: { warnAt: '85%' } });
  t.ok(r.ok, r.ok ? 'valid' : r.errors.join('; '));
  if (!r.ok) return;
  t.same(r.config.online[0], { name: 'gateway', url: 'http://gw/online', method: 'POST', headers: { Authorization: 'Bearer x1', 'X-Zone': 'a' }, headerFiles: { 'X-Token': '/etc/token' }, body: '', timeout: 5000 });
  const printed = printConfig(r.config);
  t.notMatch(printed, 'Bearer x1');
  t.match(printed, 'timeout: 5s');
  t.match(printed, 'warnAt: 85%');
});

t.test('every bad field is named by its path', async (t) => {
  const r = load({ online: [{ url: 'ftp://x', timeout: 'soon' }, { name: 'a', url: 'http://a' }, { name: 'a', url: 'http://b', method: 'PATCH' }], offline: 'gateway', metrics: { port: 70000 }, memory: { warnAt: 0.9 } });
  t.notOk(r.ok);
  if (r.ok) return;
  t.same(r.errors.map((e) => e.split(':')[0]).sort(), ['memory.warnAt', 'metrics.port', 'offline', 'online[0].name', 'online[0].timeout', 'online[0].url', 'online[2].method', 'online[2].name'].sort(), r.errors.join('\n'));
});

t.test('NILE_ONLINE takes the list as JSON', async (t) => {
  const r = load({}, { NILE_ONLINE: '[{"name":"rpc","url":"http://127.0.0.1:1/online"}]', NILE_METRICS_PORT: '9102' });
  t.ok(r.ok, r.ok ? 'valid' : r.errors.join('; '));
  if (r.ok) t.same([r.config.online.map((c) => c.name), r.config.metrics.port], [['rpc'], 9102]);
});
