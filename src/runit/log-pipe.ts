import { closeQuietly } from '../fd.js';
import { requireNative } from '../native.js';

/** runsv's log pipe: both ends, as blocking descriptors the service takes as stdout and its log as stdin. */
export interface Pipe {
  readFd: number;
  writeFd: number;
  close(): void;
}

/** A pipe(2) that lives as long as nile holds its ends, across restarts of the service and its log. */
export function openLogPipe(): Pipe {
  const [readFd, writeFd] = requireNative().pipe();
  return {
    readFd,
    writeFd,
    close: () => {
      for (const fd of [readFd, writeFd]) closeQuietly(fd);
    },
  };
}
