import t from 'tap';
import { consulCall } from './consul-double/client.js';
import { ConsulDouble } from './consul-double/index.js';
import { applyAnswer, consulKv, pauseAfterAnswer, served, watchUpstream } from './helpers/upsync.js';

// The tests' view of nginx-upsync-module behaves as the real module does (nginx 1.22.1 with it, reading Consul KV):
// 404 keeps the peers, the last server is never deleted, each read follows the last by upsync_interval + 0–999 ms,
// and the trailing slash keeps `<upstream>-canary/` out.

const json = (backup = 0) => `{"weight":1,"max_fails":2,"fail_timeout":10,"down":0,"backup":${backup}}`;

t.test('Consul KV as upsync reads it', async (t) => {
  const consul = await ConsulDouble.start({ minTtlMs: 0 });
  t.teardown(() => consul.stop());
  const put = (key: string, backup = 0) => consulCall(consul.url, 'PUT', `/kv/upstreams/${key}`, { body: json(backup) });
  const del = (key: string) => consulCall(consul.url, 'DELETE', `/kv/upstreams/${key}`);
  await put('shop-web/127.0.0.1:8001');
  await put('shop-web/127.0.0.1:8002');
  await put('shop-web-canary/127.0.0.1:9001');
  const reader = watchUpstream(t, consulKv({ url: consul.url, upstream: 'shop-web', intervalMs: 200 }));
  const both = await reader.waitFor('both servers', (s) => served(s).length === 2, 5000);
  t.same(served(both.servers), ['127.0.0.1:8001', '127.0.0.1:8002'], 'the canary upstream stays out (trailing slash)');

  await del('shop-web/127.0.0.1:8001');
  await reader.waitFor('one left', (s) => served(s).join() === '127.0.0.1:8002', 5000);
  t.pass('a server removed while another remains leaves nginx');

  const lastGoneAt = Date.now();
  await del('shop-web/127.0.0.1:8002');
  await reader.waitFor('a 404', () => reader.errors.some((e) => e.at >= lastGoneAt && /404/.test(e.message)), 5000).catch(() => undefined);
  t.ok(reader.errors.some((e) => e.at >= lastGoneAt && /404/.test(e.message)), 'Consul answers 404 for the empty prefix, an error to upsync');
  t.same(served(reader.heldAt(Date.now())), ['127.0.0.1:8002'], 'the last server stays in nginx');

  const gaps = reader.samples.slice(1).map((s, i) => s.requestedAt - reader.samples[i].at);
  t.ok(gaps.length > 0 && gaps.every((gap) => gap >= 195), `each read follows the last answer by upsync_interval at least (${gaps.join(', ')} ms)`);
});

t.test('the pause after an answer is upsync_interval and 0–999 ms more', async (t) => {
  t.equal(pauseAfterAnswer(200, 0), 200, 'at least upsync_interval');
  t.equal(pauseAfterAnswer(200, 0.5), 700);
  t.equal(pauseAfterAnswer(200, 0.9999999), 1199, 'at most upsync_interval + 999 ms');
});

t.test('an answer with no server never deletes the last one', async (t) => {
  const held = [{ address: '127.0.0.1:8002', weight: 1, maxFails: 2, failTimeout: 10, down: false, backup: false }];
  t.same(applyAnswer(held, []), held);
  const other = [{ ...held[0], address: '127.0.0.1:8003' }];
  t.same(applyAnswer(held, other), other, 'replaced by another one, it goes');
});
