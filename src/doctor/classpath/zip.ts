import { PassThrough, type Readable } from 'node:stream';
import type { FileHandle } from 'node:fs/promises';
import yauzl, { type Entry, type ZipFile } from 'yauzl';

export type { Entry, ZipFile };

const READ_AHEAD = 256 * 1024;
const READ_MIN = 4096;
// yauzl leaves names as bytes: decoding and validating a hundred thousand names costs more than the
// rest of the scan, and nothing is extracted, so no name is ever used as a path.
const ZIP_OPTIONS = { autoClose: false, decodeStrings: false };

// A window onto part of an open file (a whole jar, or a jar stored inside one) that serves yauzl's
// many small reads of the central directory from large blocks: a few syscalls per jar, not two per entry.
// Only reads that continue the last block read ahead; a lone read (a local header) stays small.
class FileSliceReader extends yauzl.RandomAccessReader {
  private block: Buffer = Buffer.alloc(0);
  private blockStart = 0;

  constructor(
    private readonly file: FileHandle,
    private readonly base: number,
    private readonly size: number,
  ) {
    super();
  }

  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null, bytesRead?: number) => void): void {
    const copy = () => {
      const from = position - this.blockStart;
      return this.block.copy(buffer, offset, from, from + length);
    };
    // Asynchronous even from the block: yauzl reads the next entry from inside this callback.
    if (this.holds(position, length)) process.nextTick(() => callback(null, copy()));
    else this.load(position, length).then(() => callback(null, copy()), callback);
  }

  override _readStreamForRange(start: number, end: number): Readable {
    const stream = new PassThrough();
    readSlice(this.file, this.base + start, end - start).then(
      (data) => stream.end(data),
      (err: Error) => stream.destroy(err),
    );
    return stream;
  }

  private holds(position: number, length: number): boolean {
    return position >= this.blockStart && position + length <= this.blockStart + this.block.length;
  }

  private async load(position: number, length: number): Promise<void> {
    const continues = position >= this.blockStart && position <= this.blockStart + this.block.length;
    const size = Math.min(Math.max(continues ? READ_AHEAD : READ_MIN, length), this.size - position);
    this.block = await readSlice(this.file, this.base + position, size);
    this.blockStart = position;
  }
}

async function readSlice(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const data = Buffer.allocUnsafe(Math.max(length, 0));
  let done = 0;
  while (done < data.length) {
    const { bytesRead } = await file.read(data, done, data.length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
  return data;
}

/** Opens the zip that fills `size` bytes of `file` from `base`: reads only its central directory. */
export function openZipSlice(file: FileHandle, base: number, size: number): Promise<ZipFile> {
  return yauzl.fromRandomAccessReaderPromise(new FileSliceReader(file, base, size), size, ZIP_OPTIONS);
}

export function openZipBuffer(data: Buffer): Promise<ZipFile> {
  return yauzl.fromBufferPromise(data, ZIP_OPTIONS);
}

/** Every entry of the central directory, in order, its name decoded. */
export function listEntries(zip: ZipFile): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: Entry[] = [];
    zip.on('entry', (entry: Entry) => {
      entry.fileName = decodeName(entry);
      entries.push(entry);
      zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', reject);
    zip.readEntry();
  });
}

// UTF-8 when the zip says so, else byte for byte: class names are ASCII either way.
function decodeName(entry: Entry): string {
  const raw = entry.fileName as unknown as Buffer;
  return raw.toString(entry.generalPurposeBitFlag & 0x800 ? 'utf8' : 'latin1');
}

/** The entry's data, inflated if need be: for small entries (pom.properties, the manifest) and compressed nested jars. */
export async function readEntryData(zip: ZipFile, entry: Entry): Promise<Buffer> {
  const stream = await zip.openReadStreamPromise(entry);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Where a STORED entry's bytes start in the zip, so a jar stored in a jar can be opened in place. */
export async function storedDataStart(zip: ZipFile, entry: Entry): Promise<number> {
  const header = await zip.readLocalFileHeaderPromise(entry, { minimal: true });
  return header.fileDataStart;
}
