import { open, readdir, readFile, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { identifyArtifact, parsePomProperties, type Artifact, type PomProperties } from './artifact.js';
import { listEntries, openZipBuffer, openZipSlice, readEntryData, storedDataStart, type Entry, type ZipFile } from './zip.js';

/** One jar or directory the app loads classes from. */
export interface ClasspathElement {
  name: string; // as the user would find it: /app/app.jar!/BOOT-INF/lib/guava-31.1-jre.jar
  classes: string[]; // internal names: com/google/common/base/Strings
  artifact?: Artifact;
}

/** A classpath element that could not be read, and why. */
export interface Unreadable {
  name: string;
  missing: boolean;
  error: string;
}

export interface Classpath {
  elements: ClasspathElement[];
  unreadable: Unreadable[];
}

// Where Spring Boot jars and wars keep the app's classes and its libraries.
const NESTED_CLASSES = ['BOOT-INF/classes/', 'WEB-INF/classes/'];
const NESTED_LIB = /^(BOOT-INF\/lib|WEB-INF\/lib|WEB-INF\/lib-provided)\/[^/]+\.jar$/;
const POM_PROPERTIES = /^META-INF\/maven\/.+\/pom\.properties$/;
const NOT_A_CLASS = new Set(['module-info.class', 'package-info.class']);
// Nested jars read at once: enough to keep the disk and the thread pool busy.
const NESTED_AT_ONCE = 8;
const MAX_INFLATED = 256 * 1024 * 1024;

/** The elements behind `java -jar <jar>`: a fat jar's own classes and nested jars, or a plain jar and its manifest Class-Path. */
export async function readJarClasspath(jar: string): Promise<Classpath> {
  const found: Classpath = { elements: [], unreadable: [] };
  await withZip(jar, found, async (file, zip, entries) => {
    if (entries.some((e) => NESTED_CLASSES.some((root) => e.fileName.startsWith(root)) || NESTED_LIB.test(e.fileName))) {
      await readFatJar(jar, file, zip, entries, found);
    } else {
      await readPlainJar(jar, zip, entries, found, new Set([path.resolve(jar)]));
    }
  });
  return found;
}

/** The elements of a `-cp` list: jars, directories of classes, and `dir/*` wildcards. */
export async function readListedClasspath(list: string[]): Promise<Classpath> {
  const found: Classpath = { elements: [], unreadable: [] };
  const seen = new Set<string>();
  for (const item of await expandWildcards(list, found)) {
    const resolved = path.resolve(item);
    if (seen.has(resolved)) continue;
    seen.add(resolved);
    try {
      if ((await stat(item)).isDirectory()) {
        found.elements.push(await readClassesDir(item));
        continue;
      }
    } catch (err) {
      found.unreadable.push(unreadable(item, err));
      continue;
    }
    await withZip(item, found, (_file, zip, entries) => readPlainJar(item, zip, entries, found, seen));
  }
  return found;
}

async function readFatJar(jar: string, file: FileHandle, zip: ZipFile, entries: Entry[], found: Classpath): Promise<void> {
  for (const root of NESTED_CLASSES) {
    const own = entries.filter((e) => e.fileName.startsWith(root));
    if (own.length > 0) found.elements.push({ name: `${jar}!/${root.slice(0, -1)}`, classes: classNames(own, root) });
  }
  const libs = entries.filter((e) => NESTED_LIB.test(e.fileName));
  const described = await mapConcurrently(libs, NESTED_AT_ONCE, async (entry) => {
    const name = `${jar}!/${entry.fileName}`;
    try {
      const nested = await openNestedJar(file, zip, entry);
      try {
        return await describeJar(name, nested, await listEntries(nested));
      } finally {
        nested.close();
      }
    } catch (err) {
      return unreadable(name, err);
    }
  });
  for (const result of described) {
    if ('classes' in result) found.elements.push(result);
    else found.unreadable.push(result);
  }
}

// Results in the order of `items` (the classpath order), with at most `limit` running at once.
async function mapConcurrently<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

// Nested jars are normally STORED, so they are read in place; a compressed one has to be inflated
// into memory first, which a jar claiming to be huge does not get.
async function openNestedJar(file: FileHandle, zip: ZipFile, entry: Entry): Promise<ZipFile> {
  if (entry.compressionMethod === 0) return openZipSlice(file, await storedDataStart(zip, entry), entry.compressedSize);
  if (entry.uncompressedSize > MAX_INFLATED) throw new Error(`compressed nested jar of ${entry.uncompressedSize} bytes is too large to inflate`);
  return openZipBuffer(await readEntryData(zip, entry));
}

async function readPlainJar(jar: string, zip: ZipFile, entries: Entry[], found: Classpath, seen: Set<string>): Promise<void> {
  found.elements.push(await describeJar(jar, zip, entries));
  const manifest = entries.find((e) => e.fileName === 'META-INF/MANIFEST.MF');
  if (!manifest) return;
  // The JVM follows a jar's Class-Path to further jars, relative to the jar's directory.
  for (const ref of manifestClassPath((await readEntryData(zip, manifest)).toString('utf8'))) {
    const next = path.resolve(path.dirname(jar), ref);
    if (seen.has(next)) continue;
    seen.add(next);
    await withZip(next, found, (_file, nested, nestedEntries) => readPlainJar(next, nested, nestedEntries, found, seen));
  }
}

async function describeJar(name: string, zip: ZipFile, entries: Entry[]): Promise<ClasspathElement> {
  const poms: PomProperties[] = [];
  for (const entry of entries) {
    if (POM_PROPERTIES.test(entry.fileName)) poms.push(parsePomProperties((await readEntryData(zip, entry)).toString('utf8')));
  }
  return { name, classes: classNames(entries, ''), artifact: identifyArtifact(name, poms) };
}

async function readClassesDir(dir: string): Promise<ClasspathElement> {
  const files = (await readdir(dir, { recursive: true })).map((f) => f.split(path.sep).join('/'));
  const poms: PomProperties[] = [];
  for (const f of files.filter((f) => POM_PROPERTIES.test(f))) poms.push(parsePomProperties(await readFile(path.join(dir, f), 'utf8')));
  const classes = files.filter(isClassFile).map((f) => f.slice(0, -'.class'.length));
  return { name: dir, classes, artifact: identifyArtifact(dir, poms) };
}

// Multi-release variants (META-INF/versions/**) and module or package descriptors are not duplicates.
function classNames(entries: Entry[], root: string): string[] {
  const names: string[] = [];
  for (const { fileName } of entries) {
    if (!fileName.startsWith(root)) continue;
    const inner = fileName.slice(root.length);
    if (isClassFile(inner)) names.push(inner.slice(0, -'.class'.length));
  }
  return names;
}

function isClassFile(file: string): boolean {
  return file.endsWith('.class') && !file.startsWith('META-INF/') && !NOT_A_CLASS.has(file.slice(file.lastIndexOf('/') + 1));
}

/** The space-separated URLs of a manifest's Class-Path, continuation lines joined. */
export function manifestClassPath(manifest: string): string[] {
  const joined = manifest.replace(/\r?\n /g, '');
  const line = /^Class-Path:\s*(.*)$/im.exec(joined);
  if (!line) return [];
  return line[1]!.split(/\s+/).filter(Boolean).map((url) => decodeURIComponent(url.replace(/^file:/, '')));
}

// `lib/*` on a classpath means every .jar directly in lib, as the java launcher expands it.
async function expandWildcards(list: string[], found: Classpath): Promise<string[]> {
  const expanded: string[] = [];
  for (const item of list) {
    if (path.basename(item) !== '*') {
      expanded.push(item);
      continue;
    }
    const dir = path.dirname(item);
    try {
      const jars = (await readdir(dir)).filter((f) => /\.jar$/i.test(f)).sort();
      expanded.push(...jars.map((f) => path.join(dir, f)));
    } catch (err) {
      found.unreadable.push(unreadable(item, err));
    }
  }
  return expanded;
}

async function withZip(
  jar: string,
  found: Classpath,
  use: (file: FileHandle, zip: ZipFile, entries: Entry[]) => Promise<void>,
): Promise<void> {
  let file: FileHandle | undefined;
  try {
    file = await open(jar, 'r');
    const zip = await openZipSlice(file, 0, (await file.stat()).size);
    try {
      await use(file, zip, await listEntries(zip));
    } finally {
      zip.close();
    }
  } catch (err) {
    found.unreadable.push(unreadable(jar, err));
  } finally {
    await file?.close();
  }
}

function unreadable(name: string, err: unknown): Unreadable {
  const code = (err as NodeJS.ErrnoException).code;
  return { name, missing: code === 'ENOENT', error: err instanceof Error ? err.message : String(err) };
}
