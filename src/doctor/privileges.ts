import { readFileSync } from 'node:fs';
import type { Finding, ServiceLine } from '../control/protocol.cjs';

/**
 * The services the config asks for that cannot run for a privilege nile lacks (sshd in a restricted
 * pod): each a finding of its own, after the app's, with nile's user and capabilities as evidence.
 */
export function privilegeFindings(services: ServiceLine[], status = () => readFileSync('/proc/self/status', 'utf8')): Finding[] {
  const cannot = services.filter((s) => s.note);
  if (cannot.length === 0) return [];
  const lines = status().split('\n').filter((l) => /^(Uid|Gid|CapEff):/.test(l)).map((l) => l.replace(/\s+/g, ' '));
  return cannot.map((s) => ({ cause: 'missing-privilege', summary: `${s.name} is not running: ${s.note}`, evidence: [...lines], source: `/proc/${process.pid}/status` }));
}
