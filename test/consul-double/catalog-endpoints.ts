// /v1/catalog/service/:name and /v1/health/service/:name (?passing), both blocking on the catalog's index.

import type { CheckRecord, ServiceRecord } from './agent.js';
import { nodeEntry, serfHealthCheck } from './node.js';
import type { Route } from './route.js';

export const catalogEndpoints: Route[] = [
  {
    method: 'GET',
    path: /^\/catalog\/service\/(.+)$/,
    right: 'service:read',
    handle: async (world, call, [name]) => {
      await world.changes.block(call.query, () => world.agent.tableIndex);
      return { json: world.agent.instances(name).map(({ service }) => catalogEntry(service)), index: world.agent.tableIndex };
    },
  },
  {
    method: 'GET',
    path: /^\/health\/service\/(.+)$/,
    right: 'service:read',
    handle: async (world, call, [name]) => {
      await world.changes.block(call.query, () => world.agent.tableIndex);
      const entries = world.agent.instances(name).map(({ service, checks }) => healthEntry(service, checks));
      const shown = call.query.has('passing') ? entries.filter((e) => e.Checks.every((c) => c.Status === 'passing')) : entries;
      return { json: shown, index: world.agent.tableIndex };
    },
  },
];

function catalogEntry(s: ServiceRecord) {
  const node = nodeEntry();
  return {
    ID: node.ID,
    Node: node.Node,
    Address: node.Address,
    Datacenter: node.Datacenter,
    TaggedAddresses: node.TaggedAddresses,
    NodeMeta: node.Meta,
    ServiceID: s.ID,
    ServiceName: s.Service,
    ServiceTags: s.Tags,
    ServiceAddress: s.Address,
    ServiceMeta: s.Meta,
    ServicePort: s.Port,
    ServiceWeights: s.Weights,
    ServiceEnableTagOverride: s.EnableTagOverride,
    CreateIndex: s.CreateIndex,
    ModifyIndex: s.ModifyIndex,
  };
}

// The node's serfHealth counts among the instance's checks, as in Consul.
function healthEntry(s: ServiceRecord, checks: CheckRecord[]) {
  return { Node: nodeEntry(), Service: s, Checks: [serfHealthCheck(), ...checks] };
}
