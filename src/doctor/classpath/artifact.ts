import path from 'node:path';

/** Which library a jar is and which version of it. */
export interface Artifact {
  id: string; // groupId:artifactId from pom.properties, else the artifactId guessed from the file name
  version: string;
}

export interface PomProperties {
  groupId?: string;
  artifactId?: string;
  version?: string;
}

export function parsePomProperties(text: string): PomProperties {
  const props: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([\w.-]+)\s*[=:]\s*(.*?)\s*$/.exec(line);
    if (m && !line.trimStart().startsWith('#')) props[m[1]!] = m[2]!;
  }
  return { groupId: props.groupId, artifactId: props.artifactId, version: props.version };
}

/**
 * The jar's own identity. A shaded jar carries the pom.properties of everything shaded into it,
 * so with several the one whose artifactId starts the file name wins, else the file name decides.
 */
export function identifyArtifact(fileName: string, poms: PomProperties[]): Artifact | undefined {
  const base = path.basename(fileName);
  const complete = poms.filter((p) => p.groupId && p.artifactId && p.version);
  const own = complete.length === 1 ? complete[0] : complete.find((p) => base.startsWith(`${p.artifactId}-`));
  if (own) return { id: `${own.groupId}:${own.artifactId}`, version: own.version! };
  return artifactFromFileName(base);
}

/**
 * `jackson-databind-2.15.2.jar` → jackson-databind 2.15.2. The version starts at the last `-digit`
 * (so `log4j-1.2-api-2.17.1` keeps its name), except for a timestamped snapshot (`-20240101.120000-3`).
 */
export function artifactFromFileName(fileName: string): Artifact | undefined {
  const stem = path.basename(fileName).replace(/\.(jar|war|zip)$/i, '');
  const snapshot = /^(.+?)-(\d[^-]*-\d{8}\.\d{6}-\d+)$/.exec(stem);
  if (snapshot) return { id: snapshot[1]!, version: snapshot[2]! };
  const m = /^(.+)-(\d[^-]*(?:-[^\d-][^-]*)*)$/.exec(stem);
  return m ? { id: m[1]!, version: m[2]! } : undefined;
}
