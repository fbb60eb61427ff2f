/** The Java release that writes class files of this major version: 65 → "Java 21", 49 → "Java 5", 48 → "Java 1.4". */
export function javaForClassFile(major: number): string {
  if (major >= 49) return `Java ${major - 44}`;
  if (major >= 45) return `Java 1.${major - 44}`;
  return `class file version ${major}`;
}
