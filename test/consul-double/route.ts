// One endpoint of the double: method, path, the ACL right it needs (the docs' "ACL Required" column), and its handler.

import type { Right } from './acl.js';
import type { Call, Reply } from './http.js';
import type { World } from './world.js';

export interface Route {
  method: 'GET' | 'PUT' | 'DELETE';
  path: RegExp; // matched against the path after /v1 as sent (URL-encoded); its groups arrive decoded
  right: Right;
  /** What the right is checked on, for the "Permission denied" text; the last path parameter by default. */
  resource?(call: Call): string;
  handle(world: World, call: Call, params: string[]): Reply | Promise<Reply>;
}
