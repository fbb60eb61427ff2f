// /v1/kv/:key: read (recurse, keys, blocking), write (acquire, release, cas, flags), delete (recurse, cas).

import { HttpError, type Call } from './http.js';
import type { KvEntry, PutOptions } from './kv.js';
import type { Route } from './route.js';

export const kvEndpoints: Route[] = [
  {
    method: 'GET',
    path: /^\/kv\/(.*)$/,
    right: 'key:read',
    handle: async (world, call, [key]) => {
      const keysOnly = call.query.has('keys');
      const recurse = keysOnly || call.query.has('recurse');
      const indexOf = () => world.kv.indexOf(key, recurse);
      await world.changes.block(call.query, indexOf);
      const entries = world.kv.read(key, recurse);
      if (entries.length === 0) return { status: 404, index: indexOf() };
      const json = keysOnly ? keyList(entries, key, call.query.get('separator') ?? '') : entries.map(wireEntry);
      return { json, index: indexOf() };
    },
  },
  {
    method: 'PUT',
    path: /^\/kv\/(.+)$/,
    right: 'key:write',
    handle: (world, call, [key]) => ({ json: world.kv.put(key, call.body, putOptions(call)) }),
  },
  {
    method: 'DELETE',
    path: /^\/kv\/(.*)$/,
    right: 'key:write',
    handle: (world, call, [key]) => ({ json: world.kv.remove(key, call.query.has('recurse'), numberParam(call, 'cas')) }),
  },
];

// Value travels base64-encoded, null when empty; Session only while the key is locked.
function wireEntry(e: KvEntry) {
  return {
    LockIndex: e.LockIndex,
    Key: e.Key,
    Flags: e.Flags,
    Value: e.Value.length ? e.Value.toString('base64') : null,
    ...(e.Session ? { Session: e.Session } : {}),
    CreateIndex: e.CreateIndex,
    ModifyIndex: e.ModifyIndex,
  };
}

// With a separator, keys are cut after the first separator past the prefix, as a folder listing.
function keyList(entries: KvEntry[], prefix: string, separator: string): string[] {
  const keys = entries.map((e) => {
    if (!separator) return e.Key;
    const cut = e.Key.indexOf(separator, prefix.length);
    return cut === -1 ? e.Key : e.Key.slice(0, cut + separator.length);
  });
  return [...new Set(keys)];
}

function putOptions(call: Call): PutOptions {
  return {
    flags: numberParam(call, 'flags'),
    cas: numberParam(call, 'cas'),
    acquire: call.query.get('acquire') || undefined,
    release: call.query.get('release') || undefined,
  };
}

function numberParam(call: Call, name: string): number | undefined {
  const text = call.query.get(name);
  if (text === null) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new HttpError(400, `Invalid ${name} value: '${text}'`);
  return value;
}
