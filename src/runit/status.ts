// The state runsv publishes in supervise/: the 20-byte `status` record (daemontools layout) that
// `sv` reads, the human `stat` line and the `pid` file. Pure, and free of imports: `nile sv` loads it.

export type RunState = 'down' | 'run' | 'finish';
/** What the service should do; `exit` (the supervisor is leaving) is written as `d` in `status`. */
export type Want = 'up' | 'down' | 'exit';

export interface SuperviseStatus {
  pid: number; // 0 when nothing runs
  state: RunState;
  want: Want;
  paused: boolean;
  gotTerm: boolean;
  since: number; // ms since the epoch: the last start of run, or when the service went down
}

export const statusSize = 20;
const states: RunState[] = ['down', 'run', 'finish'];
// runit's tai_unix(): a TAI64 label is 2^62 + 10 + the Unix seconds.
const taiOfUnixEpoch = 2n ** 62n + 10n;

/** The bytes runsv's update_status() writes: TAI64N time, pid LE, paused, want, got TERM, state. */
export function encodeStatus(status: SuperviseStatus): Buffer {
  const buf = Buffer.alloc(statusSize);
  const seconds = Math.floor(status.since / 1000);
  buf.writeBigUInt64BE(taiOfUnixEpoch + BigInt(seconds), 0);
  buf.writeUInt32BE(Math.min(999_999_999, Math.round((status.since - seconds * 1000) * 1e6)), 8);
  buf.writeUInt32LE(status.pid >>> 0, 12);
  buf[16] = status.paused ? 1 : 0;
  buf[17] = (status.want === 'up' ? 'u' : 'd').charCodeAt(0);
  buf[18] = status.gotTerm ? 1 : 0;
  buf[19] = states.indexOf(status.state);
  return buf;
}

/** Reads a `status` file's bytes; null unless they are the 20 bytes runsv writes. */
export function decodeStatus(buf: Buffer): SuperviseStatus | null {
  if (buf.length !== statusSize) return null;
  const seconds = Number(buf.readBigUInt64BE(0) - taiOfUnixEpoch);
  return {
    pid: buf.readUInt32LE(12),
    state: states[buf[19]] ?? 'down',
    want: buf[17] === 'u'.charCodeAt(0) ? 'up' : 'down',
    paused: buf[16] !== 0,
    gotTerm: buf[18] !== 0,
    since: seconds * 1000 + Math.floor(buf.readUInt32BE(8) / 1e6),
  };
}

/** The `stat` line: "run", "down" or "finish", then the flags runsv appends. */
export function statLine(status: SuperviseStatus): string {
  let line = status.state;
  if (status.paused) line += ', paused';
  if (status.gotTerm) line += ', got TERM';
  if (status.state !== 'down' && status.want !== 'up') line += `, want ${status.want}`;
  return `${line}\n`;
}

/** The `pid` file: the pid and a newline, or empty when nothing runs. */
export function pidLine(pid: number): string {
  return pid ? `${pid}\n` : '';
}
