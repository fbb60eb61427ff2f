import path from 'node:path';
import type { Finding } from '../../control/protocol.cjs';
import type { Classpath, ClasspathElement, Unreadable } from './elements.js';

const SAMPLE_CLASSES = 5;

interface Overlap {
  owners: number[]; // element indexes
  classes: string[];
}

interface Ranked {
  finding: Finding;
  focused: boolean; // involves a class the app's output names
  concern: number; // lower breaks apps more often: see CONCERNS
  weight: number;
}

/** A classpath finding, and whether it involves a class an error in the app's output names. */
export type ClasspathFinding = Finding & { focused: boolean };

// What breaks an app most often when it is on the classpath twice, in rank order.
const CONCERNS: Array<{ what: string; classes: RegExp; artifacts: RegExp }> = [
  {
    what: 'SLF4J bindings (SLF4J picks one of them at random)',
    classes: /^org\/slf4j\/impl\/StaticLoggerBinder$|^(ch\/qos\/logback\/classic\/spi\/LogbackServiceProvider|org\/slf4j\/simple\/SimpleServiceProvider|org\/slf4j\/reload4j\/Reload4jServiceProvider|org\/slf4j\/jul\/JULServiceProvider|org\/apache\/logging\/slf4j\/SLF4JServiceProvider)$/,
    artifacts: /:(slf4j-(log4j12|reload4j|simple|jdk14|jcl|nop)|logback-classic|log4j-slf4j2?-impl)$/,
  },
  { what: 'servlet APIs', classes: /^(javax|jakarta)\/servlet\/Servlet$/, artifacts: /:(javax\.servlet-api|servlet-api|jakarta\.servlet-api|tomcat-servlet-api)$/ },
];

/**
 * Libraries present in two versions and classes present in more than one jar, ranked by how likely
 * they break the app: classes named in `focus` (from a NoSuchMethodError, say) first, then more than
 * one SLF4J binding, servlet API versions, other version conflicts, then duplicates by their size.
 */
export function classpathFindings(classpath: Classpath, focus: string[] = []): ClasspathFinding[] {
  const wanted = new Set(focus.map((c) => c.replaceAll('.', '/')));
  const { elements } = classpath;
  const overlaps = findOverlaps(elements);
  const versioned = versionConflicts(elements);
  const ranked: Ranked[] = [];
  for (const [id, members] of versioned) {
    const shared = overlaps.filter((o) => o.owners.every((i) => members.includes(i)));
    ranked.push(versionFinding(id, members.map((i) => elements[i]!), shared, wanted));
  }
  for (const overlap of overlaps) {
    if ([...versioned.values()].some((members) => overlap.owners.every((i) => members.includes(i)))) continue;
    ranked.push(duplicateFinding(overlap, elements, wanted));
  }
  const bindings = loggingBindings(elements, ranked);
  if (bindings) ranked.push(bindings);
  ranked.sort((a, b) => Number(b.focused) - Number(a.focused) || a.concern - b.concern || b.weight - a.weight);
  return [...classpath.unreadable.map((u) => ({ ...unreadableFinding(u), focused: false })), ...ranked.map((r) => ({ ...r.finding, focused: r.focused }))];
}

function concernOf(classes: string[], artifacts: string[] = []): number {
  const at = CONCERNS.findIndex((c) => classes.some((name) => c.classes.test(name)) || artifacts.some((id) => c.artifacts.test(id)));
  return at < 0 ? CONCERNS.length : at;
}

// SLF4J 2 providers are different classes in each binding jar, so no duplicate shows them: count the jars.
function loggingBindings(elements: ClasspathElement[], ranked: Ranked[]): Ranked | undefined {
  const binders = elements.filter((e) => e.classes.some((name) => CONCERNS[0]!.classes.test(name)));
  if (binders.length < 2 || ranked.some((r) => r.concern === 0)) return undefined;
  return {
    finding: { cause: 'duplicate-logging-binding', summary: `${binders.length} ${CONCERNS[0]!.what}: ${binders.map((b) => shortName(b.name)).join(', ')}`, evidence: binders.map((b) => b.name) },
    focused: false,
    concern: 0,
    weight: binders.length,
  };
}

/** Classes found in more than one element, grouped by the set of elements that hold them. */
function findOverlaps(elements: ClasspathElement[]): Overlap[] {
  // Most classes have one owner: a number each, and a list only for the few with more.
  const firstOwner = new Map<string, number>();
  const owners = new Map<string, number[]>();
  elements.forEach((element, index) => {
    for (const name of element.classes) {
      const first = firstOwner.get(name);
      if (first === undefined) firstOwner.set(name, index);
      else if (first !== index) {
        const list = owners.get(name) ?? [first];
        if (list[list.length - 1] !== index) list.push(index);
        owners.set(name, list);
      }
    }
  });
  const bySet = new Map<string, Overlap>();
  for (const [name, list] of owners) {
    const key = list.join(',');
    const overlap = bySet.get(key) ?? { owners: list, classes: [] };
    overlap.classes.push(name);
    bySet.set(key, overlap);
  }
  return [...bySet.values()];
}

/** Artifact id → indexes of the elements that hold it, for artifacts present in more than one version. */
function versionConflicts(elements: ClasspathElement[]): Map<string, number[]> {
  const byId = new Map<string, number[]>();
  elements.forEach((element, index) => {
    if (element.artifact) byId.set(element.artifact.id, [...(byId.get(element.artifact.id) ?? []), index]);
  });
  for (const [id, members] of byId) {
    if (new Set(members.map((i) => elements[i]!.artifact!.version)).size < 2) byId.delete(id);
  }
  return byId;
}

function versionFinding(id: string, members: ClasspathElement[], shared: Overlap[], wanted: Set<string>): Ranked {
  const versions = [...new Set(members.map((m) => m.artifact!.version))];
  const sharedCount = shared.reduce((n, o) => n + o.classes.length, 0);
  const evidence = members.map((m) => `${m.name} (version ${m.artifact!.version})`);
  if (sharedCount > 0) evidence.push(`${plural(sharedCount, 'class')} in more than one of them, e.g. ${samples(shared.flatMap((o) => o.classes), wanted).join(', ')}`);
  return {
    finding: { cause: 'conflicting-versions', summary: `${id} is on the classpath in ${versions.length} versions: ${versions.join(', ')}`, evidence },
    focused: shared.some((o) => o.classes.some((c) => wanted.has(c))),
    concern: Math.min(concernOf(shared.flatMap((o) => o.classes), [id]), CONCERNS.length),
    weight: Number.MAX_SAFE_INTEGER,
  };
}

function duplicateFinding(overlap: Overlap, elements: ClasspathElement[], wanted: Set<string>): Ranked {
  const owners = overlap.owners.map((i) => elements[i]!.name);
  const where = owners.length === 2 ? `both ${shortName(owners[0]!)} and ${shortName(owners[1]!)}` : `each of ${owners.map(shortName).join(', ')}`;
  const concern = concernOf(overlap.classes);
  const lead = CONCERNS[concern];
  return {
    finding: {
      cause: concern === 0 ? 'duplicate-logging-binding' : 'duplicate-class',
      summary: `${lead ? `${owners.length} ${lead.what}: ` : ''}${plural(overlap.classes.length, 'class')} ${overlap.classes.length === 1 ? 'is' : 'are'} in ${where}`,
      evidence: [...owners, ...samples(overlap.classes, wanted, lead?.classes).map((c) => `class ${c}`)],
    },
    focused: overlap.classes.some((c) => wanted.has(c)),
    concern,
    weight: overlap.classes.length,
  };
}

function unreadableFinding(u: Unreadable): Finding {
  if (u.missing) return { cause: 'missing-classpath-entry', summary: `${u.name} does not exist`, evidence: [u.name, u.error] };
  return { cause: 'corrupt-jar', summary: `${shortName(u.name)} cannot be read as a jar: ${u.error}`, evidence: [u.name, u.error] };
}

function samples(classes: string[], wanted: Set<string>, telling?: RegExp): string[] {
  const first = [...classes.filter((c) => wanted.has(c) || telling?.test(c)), ...[...classes].sort()];
  return [...new Set(first)].slice(0, SAMPLE_CLASSES).map((c) => c.replaceAll('/', '.'));
}

// `guava-31.1-jre.jar` for a jar; `BOOT-INF/classes` for a directory of classes, whose last name says little.
function shortName(name: string): string {
  const at = name.lastIndexOf('!/');
  const inner = at < 0 ? name : name.slice(at + 2);
  return inner.endsWith('/classes') || inner === 'classes' ? inner.split('/').slice(-2).join('/') : path.basename(inner);
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : noun.endsWith('s') ? 'es' : 's'}`;
}
