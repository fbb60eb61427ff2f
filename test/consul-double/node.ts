// The one node this double pretends to run on, and its always-passing serfHealth check.

export const NODE = 'node-1';
const NODE_ID = '6f2b3c1e-0d4a-4b7e-9c55-1a2b3c4d5e6f';
export const DATACENTER = 'dc1';
const NODE_ADDRESS = '127.0.0.1';
export const SERF_HEALTH = 'serfHealth';

export function nodeEntry() {
  return {
    ID: NODE_ID,
    Node: NODE,
    Address: NODE_ADDRESS,
    Datacenter: DATACENTER,
    TaggedAddresses: { lan: NODE_ADDRESS, wan: NODE_ADDRESS },
    Meta: {},
    CreateIndex: 1,
    ModifyIndex: 1,
  };
}

export function serfHealthCheck() {
  return {
    Node: NODE,
    CheckID: SERF_HEALTH,
    Name: 'Serf Health Status',
    Status: 'passing',
    Notes: '',
    Output: 'Agent alive and reachable',
    ServiceID: '',
    ServiceName: '',
    ServiceTags: [],
    Type: '',
    CreateIndex: 1,
    ModifyIndex: 1,
  };
}
