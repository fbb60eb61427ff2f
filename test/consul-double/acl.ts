// ACL enforcement as a client meets it: an unknown token is "ACL not found", a known one without the right is
// "Permission denied". Without tokens configured the double runs with ACLs disabled.

import { randomUUID } from 'node:crypto';
import { HttpError } from './http.js';

/** A token's rights, e.g. ['key:write', 'session:write']; '*' is a management token. Write implies read. */
export type Rules = string[];
export type Right = `${'key' | 'session' | 'service' | 'node'}:${'read' | 'write'}`;

const ANONYMOUS_ACCESSOR = '00000000-0000-0000-0000-000000000002';

export class Acl {
  private readonly accessors = new Map<string, string>();

  constructor(private tokens?: Record<string, Rules>) {
    this.replace(tokens);
  }

  /** The tokens an operator has now: a rotation creates the new one and deletes the old. */
  replace(tokens: Record<string, Rules> | undefined): void {
    this.tokens = tokens;
    for (const secret of Object.keys(tokens ?? {})) if (!this.accessors.has(secret)) this.accessors.set(secret, randomUUID());
  }

  authorize(token: string, right: Right, resource: string): void {
    if (!this.tokens) return;
    if (token && !(token in this.tokens)) throw new HttpError(403, 'ACL not found');
    const rules = token ? this.tokens[token] : [];
    if (grants(rules, right)) return;
    const accessor = token ? this.accessors.get(token) : ANONYMOUS_ACCESSOR;
    throw new HttpError(403, `Permission denied: token with AccessorID '${accessor}' lacks permission '${right}' on "${resource}"`);
  }
}

function grants(rules: Rules, right: Right): boolean {
  const [kind, access] = right.split(':');
  return rules.some((rule) => rule === '*' || rule === right || (access === 'read' && rule === `${kind}:write`));
}
