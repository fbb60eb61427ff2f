// /v1/session: create, renew, destroy, info, list.

import { jsonBody } from './http.js';
import type { Route } from './route.js';
import type { CreateBody } from './sessions.js';

export const sessionEndpoints: Route[] = [
  {
    method: 'PUT',
    path: /^\/session\/create$/,
    right: 'session:write',
    handle: (world, call) => ({ json: { ID: world.sessions.create(jsonBody<CreateBody>(call)) } }),
  },
  {
    method: 'PUT',
    path: /^\/session\/renew\/(.+)$/,
    right: 'session:write',
    handle: (world, _call, [id]) => {
      const session = world.sessions.renew(id);
      if (!session) return { status: 404, text: `Session id '${id}' not found` };
      return { json: [session] };
    },
  },
  {
    method: 'PUT',
    path: /^\/session\/destroy\/(.+)$/,
    right: 'session:write',
    handle: (world, _call, [id]) => {
      world.sessions.destroy(id);
      return { json: true };
    },
  },
  {
    method: 'GET',
    path: /^\/session\/info\/(.+)$/,
    right: 'session:read',
    handle: async (world, call, [id]) => {
      await world.changes.block(call.query, () => world.sessions.tableIndex);
      return { json: world.sessions.list().filter((s) => s.ID === id), index: world.sessions.tableIndex };
    },
  },
  {
    method: 'GET',
    path: /^\/session\/list$/,
    right: 'session:read',
    handle: async (world, call) => {
      await world.changes.block(call.query, () => world.sessions.tableIndex);
      return { json: world.sessions.list(), index: world.sessions.tableIndex };
    },
  },
];
