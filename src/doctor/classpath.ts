import { classpathFindings, type ClasspathFinding } from './classpath/conflicts.js';
import { readJarClasspath, readListedClasspath } from './classpath/elements.js';

export interface ClasspathInput {
  jar?: string; // what `java -jar` runs: a Spring Boot jar or war, or a plain jar
  classpath?: string[]; // what `-cp` lists: jars, class directories, `dir/*`
  focus?: string[]; // class names from the app's output (a NoSuchMethodError's class, say) to put first
}

/** Duplicate classes, one library in two versions, and jars that cannot be read; reads central directories only. */
export async function findClasspathConflicts(input: ClasspathInput): Promise<ClasspathFinding[]> {
  const fromJar = input.jar ? await readJarClasspath(input.jar) : { elements: [], unreadable: [] };
  const fromList = input.classpath?.length ? await readListedClasspath(input.classpath) : { elements: [], unreadable: [] };
  return classpathFindings(
    { elements: [...fromJar.elements, ...fromList.elements], unreadable: [...fromJar.unreadable, ...fromList.unreadable] },
    input.focus,
  );
}
