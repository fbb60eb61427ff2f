import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * nile's native module (native/nile_native.c, native/relay.c): what Node lacks. Every member is
 * there in every build; the image always has the module.
 */
export interface Native {
  /** waitpid(pid, WNOHANG): null while the child runs (or is not ours), else how it ended. */
  reap(pid: number): { pid: number; code: number | null; signal: number | null } | null;
  /** PR_SET_CHILD_SUBREAPER: true when orphans of our descendants will be re-parented to us. */
  subreaper(): boolean;
  /** pipe2(O_CLOEXEC): [readFd, writeFd], blocking, for a child's stdin or stdout. */
  pipe(): [number, number];
  /** mkfifo(3); throws EEXIST and the like, with the errno's name as the error's code. */
  mkfifo(path: string, mode: number): void;
  /** flock(fd, LOCK_EX | LOCK_NB): true when locked, false when another open file description holds it. */
  flock(fd: number): boolean;
  /** Unblocks TERM INT HUP QUIT USR1 USR2 on the main thread (Node with --disable-sigusr1 keeps USR1 blocked). */
  unblockSignals(): void;
  /** A tail keeping at most keepBytes (1 to 2^28) of the most recent output; lives as long as the process. */
  tailOpen(keepBytes: number): number;
  /** The kept bytes, oldest first; reading does not consume them. */
  tailRead(id: number): Buffer;
  /** Keeps (and captures) bytes read in JavaScript, as if they had passed through a relay. */
  tailWrite(id: number, bytes: Buffer): void;
  /** Bytes ever passed through the tail, kept or not. */
  tailCount(id: number): number;
  /** From now on every byte passing through the tail is also written to fd (duplicated); -1 ends it. */
  tailCapture(id: number, fd: number): void;
  /**
   * Starts a relay to outFd (duplicated, so the caller may close its own) and returns the write fd to
   * give the child as its stdout or stderr. The caller must close that fd once spawned (or if the spawn
   * fails): the relay ends, calling onEnd once on the main thread, when every copy of it is closed.
   * Until then the relay keeps the event loop alive, like a stream would.
   */
  relayStart(tailId: number, outFd: number, onEnd: () => void): number;
}

// From dist/src/native.js and from dist/bundle/*.js alike.
const file = fileURLToPath(new URL('../../build/Release/nile_native.node', import.meta.url));
let loaded: Native | null | undefined;

/** The native module, or null when it was not built (then nile cannot reap orphans, and says so). */
export function loadNative(): Native | null {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)(file) as Native;
    } catch {
      loaded = null;
    }
  }
  return loaded;
}

/** The native module, for the calls nile cannot do without: a clear error when it is not built. */
export function requireNative(): Native {
  const native = loadNative();
  if (!native) throw new Error(`the native module is not built (${file}): run \`make build\``);
  return native;
}
