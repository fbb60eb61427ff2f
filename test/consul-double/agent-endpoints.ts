// /v1/agent: service register/deregister, TTL check pass/warn/fail/update, and the local lists.

import type { ServiceBody } from './agent.js';
import { jsonBody } from './http.js';
import type { Route } from './route.js';

const statusOfVerb: Record<string, string> = { pass: 'passing', warn: 'warning', fail: 'critical' };

export const agentEndpoints: Route[] = [
  {
    method: 'PUT',
    path: /^\/agent\/service\/register$/,
    right: 'service:write',
    resource: (call) => jsonBody<ServiceBody>(call).Name ?? '',
    handle: (world, call) => {
      world.agent.register(jsonBody<ServiceBody>(call), replaceExistingChecks(call.query));
      return { json: null };
    },
  },
  {
    method: 'PUT',
    path: /^\/agent\/service\/deregister\/(.+)$/,
    right: 'service:write',
    handle: (world, _call, [id]) => {
      world.agent.deregister(id);
      return { json: null };
    },
  },
  {
    method: 'PUT',
    path: /^\/agent\/check\/(pass|warn|fail)\/(.+)$/,
    right: 'service:write',
    handle: (world, call, [verb, checkId]) => {
      world.agent.updateCheck(checkId, statusOfVerb[verb], call.query.get('note') ?? '');
      return { json: null };
    },
  },
  {
    method: 'PUT',
    path: /^\/agent\/check\/update\/(.+)$/,
    right: 'service:write',
    handle: (world, call, [checkId]) => {
      const update = jsonBody<{ Status?: string; Output?: string }>(call);
      world.agent.updateCheck(checkId, update.Status ?? '', update.Output ?? '');
      return { json: null };
    },
  },
  { method: 'GET', path: /^\/agent\/services$/, right: 'service:read', handle: (world) => ({ json: world.agent.listServices() }) },
  { method: 'GET', path: /^\/agent\/checks$/, right: 'service:read', handle: (world) => ({ json: world.agent.listChecks() }) },
];

// Consul takes ?replace-existing-checks bare or =true.
function replaceExistingChecks(query: URLSearchParams): boolean {
  const value = query.get('replace-existing-checks');
  return value === '' || value === 'true';
}
